"""Retention (ops.retention) against real PostgreSQL: old refusals, inbound transaction records,
superseded delivered rows and stale sign-in throttles go, in bounded chunks; recent rows,
undelivered rows, leak evidence and the audit log stay; one audit entry summarises the run."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import LoginThrottle
from audit.models import AuditEntry
from federation.models import (
    AnonymousRefusal,
    Delivery,
    DeliveryState,
    InboundTransaction,
    Partner,
    Refusal,
)
from federation.noncestore import _redis
from federation.selectors import forget_cached_manifests
from federation.services.catchup import log_entries
from ops import retention
from ops.tasks import prune_retention
from tests.conftest import chip_report
from tests.federation.partners import register_partner

pytestmark = pytest.mark.django_db
LIST = "/api/v1/reports/"


@pytest.fixture(autouse=True)
def _walk_from_the_start(settings: Any) -> None:
    _redis().delete(f"node-{settings.NODE_CODE}:retention:deliveries")


def _days_ago(days: float) -> Any:
    return timezone.now() - timedelta(days=days)


def _audit() -> list[tuple[str, str, dict[str, Any]]]:
    return list(AuditEntry.objects.order_by("seq").values_list("actor", "action", "details"))


def _refusals(n: int, *, age_days: float, **fields: Any) -> None:
    values = {"partner": "uk", "code": "not_accepted_by_policy", "reason": "invented", **fields}
    rows = Refusal.objects.bulk_create(Refusal(**values) for _ in range(n))
    Refusal.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=_days_ago(age_days))


def test_old_rows_go_recent_and_still_needed_ones_stay(releaser: APIClient, settings: Any) -> None:
    settings.RETENTION_REFUSALS_DAYS = 90
    settings.RETENTION_TRANSACTIONS_DAYS = 30
    settings.RETENTION_DELIVERIES_DAYS = 30
    _refusals(3, age_days=91)
    _refusals(2, age_days=89)
    _refusals(1, age_days=200, leak_suspected=True, code="not_entitled")
    now = timezone.now()
    AnonymousRefusal.objects.create(
        code="missing_header", path="/fed/v1/inbox", hour=now, count=7, reason="x",
        first_seen=_days_ago(95), last_seen=_days_ago(91),
    )  # fmt: skip
    AnonymousRefusal.objects.create(
        code="bad_signature", path="/fed/v1/inbox", hour=now, count=2, reason="x",
        first_seen=_days_ago(1), last_seen=now,
    )  # fmt: skip
    for n, age in enumerate((31, 31, 29)):
        InboundTransaction.objects.create(partner="uk", txn_id=f"txn-{n:08d}", results=[])
        InboundTransaction.objects.filter(txn_id=f"txn-{n:08d}").update(created_at=_days_ago(age))
    stale = LoginThrottle.objects.create(
        username="a", address="192.0.2.1", failures=3, last_failure_at=_days_ago(1)
    )
    locked = LoginThrottle.objects.create(
        username="b", address="192.0.2.1", failures=5, last_failure_at=_days_ago(1),
        locked_until=now + timedelta(minutes=10),
    )  # fmt: skip
    # One report released seven times to uk, and one released once.
    forget_cached_manifests()
    register_partner("uk")
    made = releaser.post(LIST, {**chip_report(), "status": "published"}, format="json").json()
    for version in range(1, 7):
        body = {**chip_report(title=f"Revision {version}"), "base_version": version}
        assert releaser.put(f"{LIST}{made['id']}/", body, format="json").status_code == 200
    single = releaser.post(LIST, {**chip_report(), "status": "published"}, format="json").json()
    rows = list(Delivery.objects.filter(envelope__report_id=made["id"]).order_by("seq"))
    assert len(rows) == 7
    states = [
        (DeliveryState.DELIVERED, 31),  # r1: superseded, old: goes
        (DeliveryState.DELIVERED, 29),  # r2: superseded, within the window
        (DeliveryState.PENDING, 31),
        (DeliveryState.HELD, 31),
        (DeliveryState.DEAD, 31),
        (DeliveryState.CANCELLED, 31),
        (DeliveryState.DELIVERED, 31),  # r7: the newest release: reconcile needs it
    ]
    for row, (state, age) in zip(rows, states, strict=True):
        Delivery.objects.filter(pk=row.pk).update(state=state, delivered_at=_days_ago(age))
    Delivery.objects.filter(envelope__report_id=single["id"]).update(
        state=DeliveryState.DELIVERED, delivered_at=_days_ago(400)
    )
    audit_before = _audit()

    dry = retention.prune(dry_run=True)
    counts = prune_retention.apply().get()

    expected = {
        "refusals": 3,
        "anonymous_refusals": 1,
        "inbound_transactions": 2,
        "deliveries": 1,
        "login_throttles": 1,
    }
    assert dry == counts == expected
    assert Refusal.objects.count() == 3  # two recent, and the leak evidence however old
    assert Refusal.objects.filter(leak_suspected=True).exists()
    assert list(AnonymousRefusal.objects.values_list("code", flat=True)) == ["bad_signature"]
    assert list(InboundTransaction.objects.values_list("txn_id", flat=True)) == ["txn-00000002"]
    assert list(LoginThrottle.objects.values_list("pk", flat=True)) == [locked.pk]
    assert not LoginThrottle.objects.filter(pk=stale.pk).exists()
    kept = Delivery.objects.filter(envelope__report_id=made["id"]).order_by("seq")
    assert [row.seq for row in kept] == [row.seq for row in rows[1:]]
    assert Delivery.objects.filter(envelope__report_id=single["id"]).exists()
    # The audit log lost nothing and gained one system entry with the counts.
    after = _audit()
    assert after[: len(audit_before)] == audit_before
    [(actor, action, details)] = after[len(audit_before) :]
    assert (actor, action) == ("system", "retention.prune")
    assert details["deleted"] == expected
    assert details["windows_days"] == {
        "refusals": 90,
        "inbound_transactions": 30,
        "deliveries": 30,
    }
    assert details["more_next_run"] == []
    # Nothing left to do: a second run deletes nothing and writes no entry.
    assert set(retention.prune().values()) == {0}
    assert _audit() == after
    # Catch-up lists the deleted row's sequence number as skipped, so the cursor moves on.
    partner = Partner.objects.get(code="uk")
    first = log_entries(partner, 0, 3)["entries"]
    assert first[0] == {"seq": rows[0].seq, "skipped": True}
    assert [entry["seq"] for entry in first] == [rows[0].seq, rows[1].seq, rows[2].seq]
    assert "envelope" in first[1]


def test_deletes_go_in_bounded_chunks_and_stop_at_the_run_s_limit(settings: Any) -> None:
    settings.RETENTION_REFUSALS_DAYS = 90
    _refusals(25, age_days=100)
    _refusals(1, age_days=1)

    with CaptureQueriesContext(connection) as queries:
        deleted, more = retention.delete_in_chunks(
            retention.candidates(timezone.now())["refusals"], chunk=10, max_chunks=2
        )
    assert (deleted, more) == (20, True)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2
    assert Refusal.objects.count() == 6

    counts = retention.prune(chunk=10, max_chunks=1)

    assert counts["refusals"] == 5
    assert Refusal.objects.count() == 1
    assert AuditEntry.objects.get(action="retention.prune").details["more_next_run"] == []


def test_delivered_rows_are_walked_in_windows_resumed_by_the_next_run(
    releaser: APIClient, settings: Any
) -> None:
    settings.RETENTION_DELIVERIES_DAYS = 30
    forget_cached_manifests()
    register_partner("uk")
    made = releaser.post(LIST, {**chip_report(), "status": "published"}, format="json").json()
    for version in range(1, 6):
        body = {**chip_report(title=f"Revision {version}"), "base_version": version}
        assert releaser.put(f"{LIST}{made['id']}/", body, format="json").status_code == 200
    Delivery.objects.update(state=DeliveryState.DELIVERED, delivered_at=_days_ago(60))
    newest = Delivery.objects.order_by("-pk").values_list("pk", flat=True)[0]
    rows = retention.candidates(timezone.now())["deliveries"]

    results = [
        retention.delete_in_windows(rows, chunk=2, max_chunks=1, cursor="deliveries")
        for _ in range(4)
    ]

    # Six rows, windows of two ids a run: the newest release's row stays, and the fourth run
    # starts again from the table's first row (none left to delete).
    assert results == [(2, True), (2, True), (1, False), (0, False)]
    assert list(Delivery.objects.values_list("pk", flat=True)) == [newest]


def test_the_command_counts_with_dry_run_and_audits_under_the_operator(settings: Any) -> None:
    settings.RETENTION_REFUSALS_DAYS = 90
    _refusals(4, age_days=100)
    out = StringIO()

    call_command("prune_retention", "--dry-run", stdout=out)

    assert "refusals: would delete 4" in out.getvalue()
    assert Refusal.objects.count() == 4
    assert not AuditEntry.objects.filter(action="retention.prune").exists()
    call_command("prune_retention", stdout=out)
    assert "refusals: deleted 4" in out.getvalue()
    entry = AuditEntry.objects.get(action="retention.prune")
    assert entry.actor.startswith("command:")


def test_beat_runs_retention_hourly(settings: Any) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    [entry] = [e for e in schedule if e["task"] == "ops.tasks.prune_retention"]
    assert entry["schedule"] == 3600.0
