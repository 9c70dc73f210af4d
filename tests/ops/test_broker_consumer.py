"""A real Procfile worker, behind a proxy that cuts its Redis connections, survives a broker
restart with work in hand (ops.broker_consumer)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from ops.broker_consumer import _retire
from ops.models import Heartbeat
from ops.tasks import heartbeat
from tests.support.broker_proxy import BrokerProxy
from tests.support.processes import database_url, procfile_commands, running, wait_for_text


class _Channel:
    def __init__(self) -> None:
        self.acknowledged: list[object] = []

    def basic_ack(self, delivery_tag: object, multiple: bool = False) -> None:
        self.acknowledged.append(delivery_tag)

    def basic_reject(self, delivery_tag: object, requeue: bool = False) -> None:
        self.acknowledged.append(delivery_tag)


class _Transport:
    def __init__(self) -> None:
        self.channels = [_Channel(), _Channel()]


class _CollectedConnection:
    """As Celery leaves a lost connection: collected, and its close asks for a client."""

    def __init__(self) -> None:
        self._transport = _Transport()

    def close(self) -> None:
        raise AttributeError("'NoneType' object has no attribute 'hostname'")


def test_a_retired_connection_closes_quietly_and_acknowledges_nothing() -> None:
    lost, live = _CollectedConnection(), _Transport()
    _retire(lost)
    lost.close()  # no AttributeError into Celery's event loop
    for channel in lost._transport.channels:
        channel.basic_ack("tag-1")
        channel.basic_reject("tag-2", requeue=True)
        assert channel.acknowledged == []
    live.channels[0].basic_ack("tag-3")
    assert live.channels[0].acknowledged == ["tag-3"]


@pytest.fixture
def proxied_worker(tmp_path: Path) -> Iterator[tuple[BrokerProxy, Path]]:
    """The Procfile's worker on this test's database, reaching Redis only through a proxy."""
    broker = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    proxy = BrokerProxy(broker.hostname or "127.0.0.1", broker.port or 6379)
    through_proxy = urlunsplit(broker._replace(netloc=f"127.0.0.1:{proxy.port}"))
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": through_proxy,
        "WORKER_CONCURRENCY": "1",
    }
    log = tmp_path / "worker.log"
    try:
        with running(procfile_commands()["worker"], env, log) as process:
            wait_for_text(log, "ready.")
            yield proxy, log
            assert process.poll() is None, "the worker exited"
    finally:
        proxy.stop()


def _beat_seen() -> datetime | None:
    row = Heartbeat.objects.filter(name="worker:default").first()
    return None if row is None else row.seen_at


def _beats_after(before: datetime | None, timeout: float) -> float:
    """Sends a heartbeat to the worker's queue; seconds until the worker ran it."""
    started = time.monotonic()
    heartbeat.apply_async(args=("default",), queue="default")
    while time.monotonic() - started < timeout:
        seen = _beat_seen()
        if seen is not None and (before is None or seen > before):
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"the worker ran no heartbeat within {timeout} s")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_worker_survives_broker_restarts_with_unacknowledged_work(
    proxied_worker: tuple[BrokerProxy, Path],
) -> None:
    proxy, log = proxied_worker
    _beats_after(None, 60)
    # Without ops.broker_consumer the worker died in 2 of 5 runs of three restarts.
    for restart in range(3):
        # Messages due later are held by the worker unacknowledged: work in hand.
        for _ in range(5):
            heartbeat.apply_async(args=("default",), queue="default", countdown=60)
        time.sleep(1)
        proxy.cut(3)
        took = _beats_after(_beat_seen(), 60)
        assert took < 30, f"restart {restart}: {took:.1f} s to run a task"
    text = log.read_text(errors="replace")
    assert text.count("Connection to broker lost") >= 3, "the cuts reached the worker"
    assert "Unrecoverable error" not in text
