"""The worker's broker consumer, which a lost broker connection cannot shut down.

Celery 5.7 collects a lost connection and then closes it. When that close finds unacknowledged
messages to restore, it asks the collected transport for its client and raises AttributeError,
which is not a connection error, so the whole worker (and a beat embedded in it) stopped
("Unrecoverable error"). The fault lab saw it on the first Redis restart of a run: the node's
outbox filled with deliveries nobody attempted, and only partners' five-minute catch-up
converged. A task finishing after the loss then acknowledged on the collected transport and
shut the worker down the same way. Here the lost connection is retired first: its close is best
effort, as Celery means it to be, and acknowledgements on it are skipped; those messages come
back from Redis after the visibility timeout (late acknowledgement), and the outbox rows stay
the truth.

A broker that goes silent without closing the connection is handled by kombu's own checks,
configured in settings (`socket_timeout`, `health_check_interval`).
"""

from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    """Celery's consumer, which a lost broker connection cannot shut down."""

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        if self.connection is not None:
            _retire(self.connection)
        super().on_connection_error_after_connected(exc)


def _retire(lost: Any) -> None:
    """Make the lost connection's close and its channels' acknowledgements harmless.

    A task that finishes after the loss acknowledges on a channel of the collected transport,
    which raised AttributeError in the event loop and shut the worker down. Its message stays
    unacknowledged in Redis and comes back after the visibility timeout: every task here is
    idempotent (late acknowledgement already redelivers after a worker is killed)."""
    close = lost.close

    def close_quietly() -> None:
        try:
            close()
        except AttributeError:  # the collected transport (see the module's note)
            logger.info("lost broker connection already collected; reconnecting")

    lost.close = close_quietly
    # The private attribute: the `transport` property would build a new transport.
    for channel in list(getattr(getattr(lost, "_transport", None), "channels", None) or ()):
        channel.basic_ack = _skip_acknowledgement
        channel.basic_reject = _skip_acknowledgement


def _skip_acknowledgement(delivery_tag: object, *args: object, **kwargs: object) -> None:
    logger.info(
        "message %s finished on a lost broker connection; Redis redelivers it after the "
        "visibility timeout",
        delivery_tag,
    )
