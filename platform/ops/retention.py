"""Retention: operational records the node stops keeping once they no longer matter. The audit
log is never touched (its triggers would refuse anyway); a run that deletes anything writes one
audit entry with the counts per table.

What goes, with the windows from settings (`RETENTION_*`):

* `Refusal` rows older than RETENTION_REFUSALS_DAYS, except those that flagged a suspected
  leak (a partner's breach stays evidence), and anonymous counts last seen before it;
* `InboundTransaction` rows older than RETENTION_TRANSACTIONS_DAYS: a sender retries one
  transaction for hours at most (then the copy is a dead letter, and a replay is a new
  transaction); a retry after that is decided afresh, and what was stored is a duplicate.
  Replay protection of requests is the nonces' job (`RequestNonce`, pruned every minute);
* delivered `Delivery` rows older than RETENTION_DELIVERIES_DAYS whose release was superseded
  by a newer one of the same report. The newest release's row stays: it is how a policy change
  knows the partner already holds the report (`outbox.reconcile_partner`, which would send it
  again otherwise), and catch-up lists the numbers of deleted rows as skipped. Pending, held,
  dead and cancelled rows always stay;
* sign-in throttle rows that no longer decide anything (also pruned every 15 minutes).

Deletes go in chunks, each its own statement and transaction, at most `max_chunks` per table a
run (the rest waits for the next run), so a run stays well inside the Celery task time limit
and never holds long locks. The other tables lose everything old, so their oldest rows are the
candidates: `chunk` of them per statement, in primary-key order. Deliveries keep rows old and
new, so that table is walked in windows of `chunk` ids from where the last run stopped (kept in
Redis; from the start if lost), wrapping at its end: a run reads at most `max_chunks` windows,
however large the table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, QuerySet
from django.utils import timezone

from accounts.second_factor import stale_throttles
from audit.services import Actor, record
from federation.models import (
    AnonymousRefusal,
    Delivery,
    DeliveryState,
    Envelope,
    InboundTransaction,
    Refusal,
)
from federation.noncestore import _redis

CHUNK = 1000
MAX_CHUNKS = 50
"""Per table and run: 50,000 rows, a few seconds; beat runs it hourly."""


def candidates(now: datetime) -> dict[str, QuerySet[Any]]:
    """What retention would delete at `now`, per table."""
    refusals = now - timedelta(days=settings.RETENTION_REFUSALS_DAYS)
    transactions = now - timedelta(days=settings.RETENTION_TRANSACTIONS_DAYS)
    deliveries = now - timedelta(days=settings.RETENTION_DELIVERIES_DAYS)
    superseded = Exists(
        Envelope.objects.filter(
            report_id=OuterRef("envelope__report_id"), ver__gt=OuterRef("envelope__ver")
        )
    )
    return {
        "refusals": Refusal.objects.filter(created_at__lt=refusals, leak_suspected=False),
        "anonymous_refusals": AnonymousRefusal.objects.filter(last_seen__lt=refusals),
        "inbound_transactions": InboundTransaction.objects.filter(created_at__lt=transactions),
        "deliveries": Delivery.objects.filter(
            superseded, state=DeliveryState.DELIVERED, delivered_at__lt=deliveries
        ),
        "login_throttles": stale_throttles(now),
    }


def delete_in_chunks(rows: QuerySet[Any], *, chunk: int, max_chunks: int) -> tuple[int, bool]:
    """Delete what `rows` selects, `chunk` at a time (the condition is applied again by each
    DELETE, so a row changed meanwhile stays). Returns (rows deleted, whether some may remain)."""
    label = rows.model._meta.label
    deleted, last = 0, None
    for _ in range(max_chunks):
        page = rows if last is None else rows.filter(pk__gt=last)
        ids = list(page.order_by("pk").values_list("pk", flat=True)[:chunk])
        if not ids:
            return deleted, False
        with transaction.atomic():
            _, per_model = rows.filter(pk__in=ids).delete()
        deleted += per_model.get(label, 0)
        last = ids[-1]
        if len(ids) < chunk:
            return deleted, False
    return deleted, True


def delete_in_windows(
    rows: QuerySet[Any], *, chunk: int, max_chunks: int, cursor: str
) -> tuple[int, bool]:
    """Delete what `rows` selects, one window of `chunk` primary keys per statement, from the
    key after the one saved under `cursor` (Redis), or from the table's first. Returns (rows
    deleted, whether the walk has not reached the end of the table yet)."""
    label = rows.model._meta.label
    ends = rows.model.objects.aggregate(bottom=Min("pk"), top=Max("pk"))
    bottom, top = (ends["bottom"] or 1) - 1, ends["top"] or 0
    start = _saved_cursor(cursor)
    low = start if bottom <= start < top else bottom
    deleted = 0
    for _ in range(max_chunks):
        if low >= top:
            _save_cursor(cursor, 0)
            return deleted, False
        with transaction.atomic():
            _, per_model = rows.filter(pk__gt=low, pk__lte=low + chunk).delete()
        deleted += per_model.get(label, 0)
        low += chunk
    _save_cursor(cursor, low)
    return deleted, low < top


def _saved_cursor(name: str) -> int:
    try:
        saved = _redis().get(f"node-{settings.NODE_CODE}:retention:{name}")
    except redis.RedisError:
        return 0
    return int(saved) if saved is not None and saved.isdigit() else 0


def _save_cursor(name: str, value: int) -> None:
    with contextlib.suppress(redis.RedisError):
        _redis().set(f"node-{settings.NODE_CODE}:retention:{name}", value)


def prune(
    *,
    actor: Actor = None,
    now: datetime | None = None,
    dry_run: bool = False,
    chunk: int = CHUNK,
    max_chunks: int = MAX_CHUNKS,
) -> dict[str, int]:
    """Delete what is past retention (with `dry_run`, only count it). Returns rows per table;
    a run that deleted anything is summarised in one audit entry under `actor` (None: system)."""
    moment = now or timezone.now()
    found = candidates(moment)
    if dry_run:
        return {name: rows.count() for name, rows in found.items()}
    counts: dict[str, int] = {}
    unfinished: list[str] = []
    for name, rows in found.items():
        if name == "deliveries":
            counts[name], more = delete_in_windows(
                rows, chunk=chunk, max_chunks=max_chunks, cursor=name
            )
        else:
            counts[name], more = delete_in_chunks(rows, chunk=chunk, max_chunks=max_chunks)
        if more:
            unfinished.append(name)
    if any(counts.values()):
        record(actor, "retention.prune", "", _details(counts, unfinished))
    return counts


def _details(counts: Mapping[str, int], unfinished: list[str]) -> dict[str, Any]:
    return {
        "deleted": dict(counts),
        "windows_days": {
            "refusals": settings.RETENTION_REFUSALS_DAYS,
            "inbound_transactions": settings.RETENTION_TRANSACTIONS_DAYS,
            "deliveries": settings.RETENTION_DELIVERIES_DAYS,
        },
        "more_next_run": unfinished,
    }
