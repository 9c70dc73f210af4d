"""Assertions shared by the inbox integration tests: what was (not) written, what was refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Sum

from federation.models import (
    AnonymousRefusal,
    Delivery,
    Envelope,
    InboundTransaction,
    Receipt,
    Refusal,
)
from federation.protocol.envelope import signed_digest
from reports.models import Report, ReportVersion


@dataclass(frozen=True)
class Counts:
    reports: int
    versions: int
    envelopes: int
    receipts: int
    deliveries: int
    transactions: int
    refusals: int
    anonymous: int
    """Refused requests no partner signed (the sum of their counts, not rows)."""


def counts() -> Counts:
    return Counts(
        reports=Report.objects.count(),
        versions=ReportVersion.objects.count(),
        envelopes=Envelope.objects.count(),
        receipts=Receipt.objects.count(),
        deliveries=Delivery.objects.count(),
        transactions=InboundTransaction.objects.count(),
        refusals=Refusal.objects.count(),
        anonymous=AnonymousRefusal.objects.aggregate(n=Sum("count"))["n"] or 0,
    )


def assert_request_refused(
    response: Any, status: int, code: str, before: Counts, *, partner: str = ""
) -> Refusal | AnonymousRefusal:
    """A request-level refusal: `status` with {"code", "reason"}, nothing stored or queued,
    recorded once: a new Refusal row for `partner`, or (no partner signed it) one more in the
    anonymous count for its code and path."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "reason"}, body
    assert body["code"] == code, body
    assert body["reason"]
    after = counts()
    assert after.reports == before.reports
    assert after.versions == before.versions
    assert after.envelopes == before.envelopes
    assert after.receipts == before.receipts
    assert after.deliveries == before.deliveries
    assert after.transactions == before.transactions
    if not partner:
        assert (after.refusals, after.anonymous) == (before.refusals, before.anonymous + 1)
        counted = AnonymousRefusal.objects.order_by("-last_seen").first()
        assert counted is not None
        assert (counted.code, counted.path) == (code, response.wsgi_request.path)
        return counted
    assert (after.refusals, after.anonymous) == (before.refusals + 1, before.anonymous)
    refusal = Refusal.objects.order_by("-id").first()
    assert refusal is not None
    assert (refusal.code, refusal.partner) == (code, partner)
    return refusal


def assert_item_refused(
    result: Mapping[str, Any],
    env: Mapping[str, Any],
    code: str,
    *,
    sender: str,
    leak: bool,
) -> Refusal:
    """One refused item: its result carries `code`, nothing of its report (id, ver) was
    stored or queued, and a Refusal row from `sender` records it."""
    assert result["result"] == "refused", result
    assert result["code"] == code, result
    assert result["reason"]
    stored = Envelope.objects.filter(report_id=env["id"], ver=env["ver"])
    assert not stored.filter(digest=signed_digest(env)).exists()
    assert not Delivery.objects.filter(envelope__digest=signed_digest(env)).exists()
    refusal = Refusal.objects.filter(partner=sender, code=code, report_id=env["id"]).get()
    assert refusal.origin == env["iss"]
    assert refusal.leak_suspected is leak
    return refusal


def assert_not_stored(env: Mapping[str, Any]) -> None:
    """No Report, ReportVersion or Envelope row exists for the envelope's report id."""
    assert not Report.objects.filter(pk=env["id"]).exists()
    assert not ReportVersion.objects.filter(report_id=env["id"]).exists()
    assert not Envelope.objects.filter(report_id=env["id"]).exists()
    assert not Delivery.objects.filter(envelope__report_id=env["id"]).exists()
