"""Reads for operators: the figures behind /metrics and /readyz, from durable state (PostgreSQL
rows and the broker's queue lengths), so every web process reports the same numbers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from federation.models import (
    AnonymousRefusal,
    Delivery,
    DeliveryState,
    OwnManifest,
    PartnerManifest,
    Refusal,
)

from .models import Heartbeat
from .tasks import QUEUES


@dataclass
class PartnerOutbox:
    pending: int = 0
    dead: int = 0
    oldest_pending_age_s: float = 0.0
    oldest_due_late_s: float = 0.0


@dataclass
class NodeHealth:
    outbox: dict[str, PartnerOutbox] = field(default_factory=dict)
    deliveries_by_state: dict[str, int] = field(default_factory=dict)
    refusals_by_code: dict[str, int] = field(default_factory=dict)
    anonymous_refusals_by_code: dict[str, int] = field(default_factory=dict)
    own_manifest_expires_in_s: float | None = None
    partner_manifest_expires_in_s: dict[str, float] = field(default_factory=dict)
    heartbeat_age_s: dict[str, float] = field(default_factory=dict)
    queue_lengths: dict[str, int | None] = field(default_factory=dict)
    unscored_reports: int = 0
    oldest_unscored_age_s: float = 0.0


def _age(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment else 0.0


def outbox_by_partner(now: datetime) -> dict[str, PartnerOutbox]:
    out: dict[str, PartnerOutbox] = {}
    rows = (
        Delivery.objects.filter(state__in=[DeliveryState.PENDING, DeliveryState.DEAD])
        .values("partner__code", "state")
        .annotate(n=Count("id"), oldest=Min("created_at"), due=Min("next_attempt_at"))
    )
    for row in rows:
        item = out.setdefault(row["partner__code"], PartnerOutbox())
        if row["state"] == DeliveryState.DEAD:
            item.dead = row["n"]
            continue
        item.pending = row["n"]
        item.oldest_pending_age_s = _age(row["oldest"], now)
        item.oldest_due_late_s = _age(row["due"], now) if row["due"] and row["due"] < now else 0.0
    return out


def queue_lengths() -> dict[str, int | None]:
    """Messages waiting per Celery queue (None when the broker does not answer)."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
        return {queue: int(client.llen(f"{prefix}{queue}")) for queue in QUEUES}
    except redis.RedisError:
        return dict.fromkeys(QUEUES)


def unscored(now: datetime) -> tuple[int, float]:
    """Published reports that are in no case yet, and how long the oldest has waited."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), min(r.updated_at)
            FROM reports_report r
            LEFT JOIN cases_casemember m ON m.report_id = r.id
            WHERE m.id IS NULL AND r.status = 'published'
            """
        )
        count, oldest = cursor.fetchone()
    return int(count), _age(oldest, now)


def node_health() -> NodeHealth:
    now = timezone.now()
    health = NodeHealth(outbox=outbox_by_partner(now))
    for row in Delivery.objects.values("state").annotate(n=Count("id")):
        health.deliveries_by_state[row["state"]] = row["n"]
    for row in Refusal.objects.values("code").annotate(n=Count("id")):
        health.refusals_by_code[row["code"]] = row["n"]
    for row in AnonymousRefusal.objects.values("code").annotate(n=Sum("count")):
        health.anonymous_refusals_by_code[row["code"]] = row["n"]
    own = OwnManifest.objects.aggregate(v=Max("valid_until"))["v"]
    if own is not None:
        health.own_manifest_expires_in_s = own - time.time()
    for code, until in PartnerManifest.objects.values_list("partner__code", "valid_until"):
        health.partner_manifest_expires_in_s[code] = until - time.time()
    for beat in Heartbeat.objects.all():
        health.heartbeat_age_s[beat.name] = _age(beat.seen_at, now)
    health.queue_lengths = queue_lengths()
    health.unscored_reports, health.oldest_unscored_age_s = unscored(now)
    return health
