"""Heartbeats: proof, written by the processes themselves, that beat schedules and that a worker
serves each queue. Readiness and metrics read them; nothing else does."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """One row per (process kind, queue): `beat`, or `worker:<queue>`; the latest beat wins."""

    name = models.CharField(max_length=60, primary_key=True)
    seen_at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
