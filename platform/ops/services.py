"""Writes of the operations app: heartbeats only (a technical row, not an audited mutation)."""

from __future__ import annotations

from django.utils import timezone

from .models import Heartbeat


def beat(name: str, detail: str = "") -> None:
    Heartbeat.objects.update_or_create(
        name=name[:60], defaults={"seen_at": timezone.now(), "detail": detail[:200]}
    )
