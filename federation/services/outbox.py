"""Release and delivery: sign each published version once, owe it to every entitled partner in
the same transaction (the outbox), and deliver in batches with backoff and dead letters."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.enqueue import after_commit
from core.markings import Classification
from core.selectors import this_node
from federation.dbtext import clean_text
from federation.models import (
    Delivery,
    DeliveryState,
    Envelope,
    KeyUse,
    Partner,
    PartnerStatus,
)
from federation.payloads import payload_of
from federation.policy import Release, decide
from federation.protocol.envelope import (
    build_report_envelope,
    build_tombstone,
    countersign,
    sign_origin,
    signed_digest,
)
from federation.protocol.errors import NOT_ACCEPTED_BY_POLICY, RETRYABLE_CODES
from federation.protocol.keys import NodeKey
from federation.selectors import policy_for, release_of
from reports.models import ReportVersion, Status

from .keys import current_key

log = logging.getLogger(__name__)

DELIVERY_LOCK = 0x6665_6401  # advisory-lock namespace for "delivering to partner N"
# Fan-outs share this lock; a change of who may receive (a partner resumed, a policy applied)
# takes it alone. Without it, a release that read "suspended" before a resume committed, and
# committed after the resume's reconcile had read, was owed to nobody (the soak lost reports).
FAN_OUT_LOCK = 0x6665_6402


def hold_fan_outs() -> None:
    """Wait for the releases being fanned out to commit, and keep new ones waiting until this
    transaction commits: call before changing a partner's status or policy (before locking its
    row, which a waiting fan-out may hold)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FAN_OUT_LOCK])


def share_fan_out_lock() -> None:
    """Every fan-out (one release, or a received batch's relays) holds this until it commits."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [FAN_OUT_LOCK])


# Refusal codes worth retrying: the partner may not have our newest keys yet (the receiver
# decides such items again when the same txn comes back).
RETRYABLE_REFUSALS = RETRYABLE_CODES


def release_local_versions(versions: Sequence[ReportVersion]) -> None:
    """VERSION_HOOK: sign and owe this node's published versions, inside the transaction that
    wrote them (received versions are released onwards by the inbox, not here)."""
    for version in versions:
        release_local_version(version)


def release_local_version(version: ReportVersion) -> None:
    report = version.report
    if report.origin != this_node().code or version.status == Status.DRAFT:
        return
    last = Envelope.objects.filter(report=report).order_by("-ver").first()
    if version.status == Status.WITHDRAWN and last is None:
        return  # never left this node: nothing to withdraw elsewhere
    markings = {
        "classification": Classification(version.classification).name,
        "rel_to": sorted(version.rel_to),
        "orcon": version.orcon,
        "tlp": version.tlp,
    }
    now = int(time.time())
    ver = (last.ver + 1) if last else 1
    if version.status == Status.WITHDRAWN:
        assert last is not None
        unsigned = build_tombstone(
            iss=report.origin,
            report_id=str(report.pk),
            ver=ver,
            prev=last.digest,
            iat=now,
            markings=markings,
            reason=version.change_note or "withdrawn",
        )
    else:
        unsigned = build_report_envelope(
            iss=report.origin,
            iat=now,
            markings=markings,
            payload=payload_of(version),
            report_id=str(report.pk),
            ver=ver,
            prev=last.digest if last else None,
        )
    signed = sign_origin(unsigned, current_key(KeyUse.REPORT))
    envelope = Envelope.objects.create(
        report=report,
        ver=ver,
        typ=signed["typ"],
        origin=report.origin,
        digest=signed_digest(signed),
        body=signed,
        iat=now,
        origin_kid=next(iter(signed["signatures"][report.origin])),
        local_version=version.version,
    )
    fan_out(envelope, release_of(report.origin, version.category, markings))


def fan_out(
    envelope: Envelope, release: Release, *, exclude: Iterable[str] = (), fresh: bool = True
) -> list[str]:
    """Owe `envelope` to every active partner `decide` allows; returns the partner codes.

    Partners are decided on first without a lock (most received reports go nowhere); the
    entitled ones are then locked in code order, so concurrent releases never deadlock, and each
    partner's log gets dense sequence numbers. `fresh` says the envelope is new (no deliveries
    can exist yet).
    """
    share_fan_out_lock()
    me = this_node().code
    skip = {envelope.origin, me, *exclude}
    relayed_by = me if envelope.origin != me else None
    entitled = [
        partner.pk
        for partner in Partner.objects.filter(status=PartnerStatus.ACTIVE).select_related("policy")
        if partner.code not in skip
        and decide(release, policy_for(partner), relayed_by=relayed_by).allowed
    ]
    if not entitled:
        return []
    now = timezone.now()
    owed: list[Delivery] = []
    locked = Partner.objects.select_for_update().filter(pk__in=entitled).order_by("code")
    for partner in locked:
        if not fresh and Delivery.objects.filter(partner=partner, envelope=envelope).exists():
            continue
        owed.append(
            Delivery(partner=partner, envelope=envelope, seq=partner.next_seq, next_attempt_at=now)
        )
        Partner.objects.filter(pk=partner.pk).update(next_seq=F("next_seq") + 1)
    Delivery.objects.bulk_create(owed)
    codes = [d.partner.code for d in owed]
    if codes:
        for code in codes:
            after_commit("federation.tasks.deliver", code)
    return codes


def _backoff_seconds(failures: int) -> float:
    base = settings.FEDERATION_BACKOFF_BASE_S * (2 ** min(failures - 1, 20))
    capped = min(float(settings.FEDERATION_BACKOFF_CAP_S), base)
    return capped * random.uniform(0.5, 1.5)  # jitter, so partners coming back are not stampeded


def _wire_body(delivery: Delivery, relay_key: NodeKey | None = None) -> dict[str, Any]:
    """The envelope as this node sends it: a relayed one gets our countersignature and a hop."""
    body: dict[str, Any] = dict(delivery.envelope.body)
    me = this_node().code
    if delivery.envelope.origin != me:
        body = countersign(body, me, relay_key or current_key(KeyUse.REPORT))
        hops = list(body.get("unsigned", {}).get("hops", []))
        hops.append({"from": me, "to": delivery.partner.code, "at": int(time.time())})
        body["unsigned"] = {"hops": hops}
    return body


class PartnerBusy(Exception):
    """Another worker is delivering to this partner right now."""


def deliver_batch(partner_code: str) -> int:
    """Deliver one batch of due rows to a partner. Returns how many rows were settled;
    raises PartnerBusy if another worker holds the partner.

    The rows stay locked (SKIP LOCKED for other workers) during the HTTP call; if this worker
    dies, the transaction rolls back, the rows stay pending and the task runs again. The receiver
    treats the resent items as duplicates.
    """
    from federation.client import PartnerUnreachable, signed_request

    now = timezone.now()
    with transaction.atomic():
        partner = Partner.objects.select_related("policy").get(code=partner_code)
        if not _sender_slot(partner):
            raise PartnerBusy(partner_code)  # enough batches to this partner are in flight
        if partner.status != PartnerStatus.ACTIVE:
            return 0
        if partner.backoff_until and partner.backoff_until > now:
            return 0
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(partner=partner, state=DeliveryState.PENDING, next_attempt_at__lte=now)
            .select_related("envelope", "envelope__report", "partner")
            .order_by("seq")[: settings.FEDERATION_BATCH_SIZE]
        )
        if not rows:
            return 0
        sendable = _recheck_policy(partner, rows)
        if not sendable:
            return len(rows)
        txn = batch_txn(partner.code, sendable)
        me = this_node().code
        relayed = any(row.envelope.origin != me for row in sendable)
        relay_key = current_key(KeyUse.REPORT) if relayed else None  # loaded once per batch
        items = [{"seq": row.seq, "envelope": _wire_body(row, relay_key)} for row in sendable]
        try:
            answer = signed_request(partner, "POST", "/fed/v1/inbox", {"txn": txn, "items": items})
        except PartnerUnreachable as exc:
            _record_failure(partner, sendable, str(exc))
            return 0
        if answer.status != 200 or not isinstance(answer.body, dict):
            reason = _reason_of(answer.body) or f"HTTP {answer.status}"
            _record_failure(partner, sendable, f"refused the batch: {reason}")
            return 0
        results = {r.get("seq"): r for r in answer.body.get("results", []) if isinstance(r, dict)}
        delivered: list[int] = []
        unsettled: list[Delivery] = []
        for row in sendable:
            result = results.get(row.seq)
            if result is not None and result.get("result") in ("accepted", "duplicate"):
                delivered.append(row.pk)
            else:
                _settle_refused(row, result, now)
                unsettled.append(row)
        # The common case in one UPDATE; bulk_update's per-row CASE cost ~1 ms a row.
        Delivery.objects.filter(pk__in=delivered).update(
            state=DeliveryState.DELIVERED, delivered_at=now, last_error=""
        )
        if unsettled:
            Delivery.objects.bulk_update(
                unsettled, ["state", "last_error", "attempts", "next_attempt_at", "replays"]
            )
        settled = len(delivered) + sum(1 for row in unsettled if row.state != DeliveryState.PENDING)
        Partner.objects.filter(pk=partner.pk).update(
            last_success_at=now, consecutive_failures=0, backoff_until=None, last_error=""
        )
        return settled


def _settle_refused(row: Delivery, result: dict[str, Any] | None, now: datetime) -> None:
    """A row the partner did not take: held (its own policy refused it: sent again later, in a
    new transaction), dead (refused for good), or retried with backoff (retryable, or no
    answer for it), dead after FEDERATION_MAX_ATTEMPTS."""
    refused = result is not None and result.get("result") == "refused"
    code = result.get("code") if result is not None else None
    reason = result.get("reason") if result is not None else None
    if refused and code == NOT_ACCEPTED_BY_POLICY:
        row.state = DeliveryState.HELD
        row.replays += 1  # the next send is a new txn: the partner's answer to this one is final
        row.attempts = 0
        row.next_attempt_at = now + timedelta(seconds=held_wait_seconds(row.replays))
        row.last_error = clean_text(f"held by the partner's policy: {reason}", 500)
    elif refused and code not in RETRYABLE_REFUSALS:
        row.state = DeliveryState.DEAD
        row.last_error = clean_text(f"refused: {code}: {reason}", 500)
    else:
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=_backoff_seconds(row.attempts))
        row.last_error = clean_text(f"not settled: {result}", 500)
        if row.attempts >= settings.FEDERATION_MAX_ATTEMPTS:
            row.state = DeliveryState.DEAD


def held_wait_seconds(resends: int) -> float:
    """How long a copy held by the partner's policy waits before it is sent again: the base
    interval, doubling with each re-send, capped (no jitter: the sweeper spreads them)."""
    doubled = settings.FEDERATION_HELD_RETRY_S * 2 ** min(max(resends - 1, 0), 20)
    return float(min(settings.FEDERATION_HELD_RETRY_CAP_S, doubled))


def resend_held_copies(partner_code: str | None = None, *, due_only: bool = True) -> list[str]:
    """Queue copies held by a partner's policy to be sent again (each already has its new
    txn); returns the partners to deliver to. The beat sweep sends those whose wait is over;
    a policy change for the partner on our side sends all of its held copies at once (the
    two ends' administrators may just have agreed)."""
    now = timezone.now()
    rows = Delivery.objects.filter(state=DeliveryState.HELD)
    if due_only:
        rows = rows.filter(next_attempt_at__lte=now)
    if partner_code is not None:
        rows = rows.filter(partner__code=partner_code)
    with transaction.atomic():
        # SKIP LOCKED: a row an administrator is replaying right now is theirs.
        found = list(
            rows.select_for_update(skip_locked=True, of=("self",)).values_list(
                "pk", "partner__code"
            )
        )
        Delivery.objects.filter(pk__in=[pk for pk, _ in found]).update(
            state=DeliveryState.PENDING, next_attempt_at=now
        )
        codes = sorted({code for _, code in found})
        for code in codes:
            after_commit("federation.tasks.deliver", code)
    return codes


def batch_txn(partner_code: str, rows: Sequence[Delivery]) -> str:
    """The transaction id of a batch: the same for every retry of the same rows (the receiver
    answers a retry from its record), a new one once a row among them is sent again as a new
    copy (a replayed dead letter, a held copy: decided afresh, not answered with the refusal
    that stopped it)."""
    key = ",".join(f"{row.seq}r{row.replays}" if row.replays else str(row.seq) for row in rows)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{partner_code}:{key}"))


def _sender_slot(partner: Partner) -> bool:
    """One of FEDERATION_PARALLEL_BATCHES transaction-scoped advisory locks per partner.

    Two batches in flight keep both ends busy (the receiver verifies one while the sender
    prepares the next); SKIP LOCKED gives them disjoint rows, and the receiver's cursor copes
    with batches that arrive out of order.
    """
    with connection.cursor() as cursor:
        for slot in range(settings.FEDERATION_PARALLEL_BATCHES):
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s, %s)",
                [DELIVERY_LOCK + slot, partner.pk],
            )
            row = cursor.fetchone()
            if row and row[0]:
                return True
    return False


def _reason_of(body: Any) -> str:
    if isinstance(body, dict):
        return clean_text(f"{body.get('code', '')}: {body.get('reason', '')}".strip(": "), 300)
    return ""


def _recheck_policy(partner: Partner, rows: list[Delivery]) -> list[Delivery]:
    """Policy at send time wins: rows the partner is no longer entitled to are cancelled."""
    policy = policy_for(partner)
    me = this_node().code
    sendable, cancelled = [], []
    for row in rows:
        body = row.envelope.body
        category = body["payload"].get("category") if row.envelope.typ == "fed.report" else None
        release = release_of(
            row.envelope.origin, category or row.envelope.report.category, body["markings"]
        )
        relayed_by = me if row.envelope.origin != me else None
        decision = decide(release, policy, relayed_by=relayed_by)
        if decision.allowed:
            sendable.append(row)
        else:
            row.state, row.last_error = DeliveryState.CANCELLED, decision.reason[:500]
            cancelled.append(row)
    if cancelled:
        Delivery.objects.bulk_update(cancelled, ["state", "last_error"])
    return sendable


def _record_failure(partner: Partner, rows: list[Delivery], error: str) -> None:
    failures = partner.consecutive_failures + 1
    wait = _backoff_seconds(failures)
    now = timezone.now()
    Partner.objects.filter(pk=partner.pk).update(
        consecutive_failures=failures,
        backoff_until=now + timedelta(seconds=wait),
        last_error=error[:500],
    )
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=wait)
        row.last_error = error[:500]
        if row.attempts >= settings.FEDERATION_MAX_ATTEMPTS:
            row.state = DeliveryState.DEAD
    Delivery.objects.bulk_update(rows, ["attempts", "next_attempt_at", "last_error", "state"])
    log.warning("delivery to %s failed (%d in a row): %s", partner.code, failures, error[:200])


def partners_with_due_rows() -> list[str]:
    now = timezone.now()
    return list(
        Delivery.objects.filter(
            state=DeliveryState.PENDING,
            next_attempt_at__lte=now,
            partner__status=PartnerStatus.ACTIVE,
        )
        .values_list("partner__code", flat=True)
        .distinct()
    )


@transaction.atomic
def replay_dead_letters(partner_code: str, ids: Iterable[int] | None = None) -> int:
    """Admin action: put dead letters (and copies held by the partner's policy, without
    waiting for their next turn) back in the queue (the policy is checked again on send).

    Each replay counts in the row's `replays`, so its next batch has a new txn id: the partner
    decides it again instead of answering from the record of the batch that failed."""
    rows = Delivery.objects.filter(
        partner__code=partner_code, state__in=[DeliveryState.DEAD, DeliveryState.HELD]
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    count = rows.update(
        state=DeliveryState.PENDING,
        attempts=0,
        replays=F("replays") + 1,
        next_attempt_at=timezone.now(),
        last_error="replayed by an administrator",
    )
    Partner.objects.filter(code=partner_code).update(backoff_until=None)
    if count:
        after_commit("federation.tasks.deliver", partner_code)
    return count


@transaction.atomic
def reconcile_partner(partner: Partner) -> int:
    """After a policy change: owe the partner what it is newly entitled to (each report's newest
    release); pending rows it lost entitlement to are cancelled when the sender next looks."""
    count = 0
    newest = (
        Envelope.objects.filter(report__status=Status.PUBLISHED)
        .order_by("report_id", "-ver")
        .distinct("report_id")
    )
    for envelope in newest.select_related("report"):
        if Delivery.objects.filter(partner=partner, envelope=envelope).exists():
            continue
        if envelope.received_from == partner.code or envelope.origin == partner.code:
            continue
        release = release_of(envelope.origin, envelope.report.category, envelope.body["markings"])
        relayed_by = this_node().code if envelope.origin != this_node().code else None
        if decide(release, policy_for(partner), relayed_by=relayed_by).allowed:
            count += len(fan_out(envelope, release, exclude=_others(partner), fresh=False))
    return count


def _others(partner: Partner) -> list[str]:
    return list(Partner.objects.exclude(pk=partner.pk).values_list("code", flat=True))
