"""Heartbeats. Beat sends `heartbeat` to every queue every few seconds (with a short expiry, so a
message from a beat that has since died does not count); the worker that runs it proves its queue
is served, and any fresh heartbeat proves beat is scheduling."""

from __future__ import annotations

import socket

from celery import shared_task

from . import services

QUEUES = ("default", "federation", "scoring", "manifests")
HEARTBEAT_EVERY_S = 15.0


@shared_task(ignore_result=True)
def heartbeat(queue: str) -> None:
    host = socket.gethostname()
    services.beat(f"worker:{queue}", detail=host)
    services.beat("beat", detail=f"via {queue} on {host}")


@shared_task(ignore_result=True)
def prune_retention() -> dict[str, int]:
    """Beat, hourly: delete what is past retention (`ops.retention`), in bounded chunks."""
    from .retention import prune

    return prune()
