"""The notification task: thin, idempotent (unique keys), on the default queue."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=False)
def compute_and_send() -> int:
    """Compute what is owed from durable state, then send e-mail and webhooks."""
    from .services import compute_notifications, deliver_pending

    made = compute_notifications()
    deliver_pending()
    return made
