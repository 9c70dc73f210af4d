"""Receiving: verify, check entitlement, store idempotently, relay onwards, answer per item.

Order of checks for each item, cheapest and most decisive first: the envelope's structure and
origin signature (key valid at issue time), the relay's countersignature, this node's
entitlement under the origin's signed markings, the version chain, then the payload schema.
Each item is stored in its own savepoint: a bad item never leaves half a report behind, and
never spoils the good items of the same batch.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from core.markings import MarkingError
from core.selectors import this_node
from federation.models import Envelope, InboundTransaction, Partner, Receipt, Refusal
from federation.payloads import PayloadError, parse_payload
from federation.policy import decide
from federation.protocol.envelope import check_chain, verify_envelope
from federation.protocol.errors import ProtocolError
from federation.protocol.manifest import report_key_resolver
from federation.selectors import manifest_views, own_receiving_policy, release_of
from reports.models import Report, Status
from reports.services import ReportContent, content_of, record_received_version

from .outbox import fan_out

log = logging.getLogger(__name__)
MAX_ITEMS = 200
# Refusals that mean the sender broke the markings (or let someone tamper with them).
BREACH_CODES = frozenset({"not_entitled", "bad_signature", "relay_not_countersigned"})
MAX_RECORDED_VER = 2**31 - 1  # Refusal.ver is a PositiveIntegerField
# Sequence numbers received beyond a hole in a partner's log are remembered
# (Partner.received_ahead).
# Bounded: anything forgotten is pulled again by catch-up and acknowledged as a duplicate.
MAX_AHEAD = 10_000


@dataclass(frozen=True)
class ItemResult:
    seq: int | None
    result: str  # accepted | duplicate | refused
    code: str = ""
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"seq": self.seq, "result": self.result}
        if self.result == "refused":
            data.update(code=self.code, reason=self.reason)
        return data


class Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def record_refusal(
    partner: str,
    code: str,
    reason: str,
    *,
    env: Any = None,
    leak: bool = False,
    remote_addr: str = "",
    path: str = "",
) -> None:
    fields: dict[str, Any] = {}
    if isinstance(env, dict):
        ver = env.get("ver")
        fields = {
            "origin": str(env.get("iss", ""))[:8],
            "report_id": str(env.get("id", ""))[:40],
            # A hostile ver may be any JSON integer: keep only what the column can hold.
            "ver": ver if type(ver) is int and 0 < ver <= MAX_RECORDED_VER else None,
        }
    Refusal.objects.create(
        partner=partner[:8],
        code=code[:40],
        reason=reason[:500],
        leak_suspected=leak,
        remote_addr=remote_addr[:64],
        path=path[:200],
        **fields,
    )
    if leak and partner:
        Partner.objects.filter(code=partner).update(suspected_leak=True)


def parse_batch(body: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(body, dict) or set(body) != {"txn", "items"}:
        raise Refused("bad_batch", 'a batch is {"txn": "<id>", "items": [...]}')
    txn, items = body["txn"], body["items"]
    if not isinstance(txn, str) or not 8 <= len(txn) <= 64:
        raise Refused("bad_batch", "txn must be a string of 8 to 64 characters")
    if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
        raise Refused("bad_batch", f"items must be a list of 1 to {MAX_ITEMS} entries")
    for item in items:
        if (
            not isinstance(item, dict)
            or set(item) != {"seq", "envelope"}
            or type(item["seq"]) is not int
            or item["seq"] < 1
            or not isinstance(item["envelope"], dict)
        ):
            raise Refused("bad_batch", 'each item is {"seq": <positive int>, "envelope": {...}}')
    return txn, items


def receive_batch(sender: Partner, body: Any) -> dict[str, Any]:
    """Process a pushed batch; the answer lists one result per item."""
    txn, items = parse_batch(body)
    earlier = InboundTransaction.objects.filter(partner=sender.code, txn_id=txn).first()
    if earlier is not None:
        return {"txn": txn, "results": earlier.results}
    results = receive_items(sender, items)
    InboundTransaction.objects.get_or_create(
        partner=sender.code, txn_id=txn, defaults={"results": results}
    )
    return {"txn": txn, "results": results}


def receive_items(
    sender: Partner, items: list[dict[str, Any]], *, advance: bool = True
) -> list[dict[str, Any]]:
    resolver = report_key_resolver(manifest_views())
    now = int(time.time())
    results: list[dict[str, Any]] = []
    seen: set[int] = set()
    for item in sorted(items, key=lambda entry: int(entry["seq"])):
        seq = int(item["seq"])
        env = item["envelope"]
        try:
            outcome = _receive_one(sender, env, resolver, now)
            results.append(ItemResult(seq, outcome).as_json())
            seen.add(seq)
        except Refused as refusal:
            leak = refusal.code in BREACH_CODES
            record_refusal(sender.code, refusal.code, refusal.reason, env=env, leak=leak)
            results.append(ItemResult(seq, "refused", refusal.code, refusal.reason).as_json())
            seen.add(seq)
    if advance:
        advance_cursor(sender, seen)
    return results


def advance_cursor(sender: Partner, seen: set[int], *, pull_on_gap: bool = True) -> None:
    """Move the contiguous high-water mark; a hole means a missed item: pull it (catch-up).

    Sequence numbers received beyond a hole are remembered, so the item that fills the hole
    moves the mark past them too (1, 2, 4 then 3 leaves it at 4, not 3).
    """
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=sender.pk)
        received = set(seen) | set(partner.received_ahead)
        mark = partner.received_seq
        while mark + 1 in received:
            mark += 1
        beyond = sorted(seq for seq in received if seq > mark)[:MAX_AHEAD]
        if mark != partner.received_seq or beyond != list(partner.received_ahead):
            Partner.objects.filter(pk=partner.pk).update(received_seq=mark, received_ahead=beyond)
        gap = any(seq > mark + 1 for seq in seen)
    if gap and pull_on_gap:
        from federation.tasks import catch_up

        transaction.on_commit(lambda: catch_up.delay(sender.code))


def _category_of(env: dict[str, Any]) -> str | None:
    payload = env.get("payload")
    if env.get("typ") == "fed.report" and isinstance(payload, dict):
        category = payload.get("category")
        # A report always has a category to decide on; a malformed one is left to the schema
        # check (bad_payload), not mistaken for a withdrawal of an unknown report.
        return category if isinstance(category, str) else ""
    report_id = env.get("id")
    if not isinstance(report_id, str):
        return None
    report = Report.objects.filter(pk=report_id).only("category").first()
    return report.category if report else None


def _receive_one(sender: Partner, env: Any, resolver: Any, now: int) -> str:
    try:
        verified = verify_envelope(env, resolver, now)
    except ProtocolError as exc:
        raise Refused(exc.code, exc.reason) from None
    me = this_node().code
    if verified.iss == me:
        return "duplicate"  # our own report relayed back to us: we hold the original
    if sender.code != verified.iss and sender.code not in verified.relay_kids:
        raise Refused(
            "relay_not_countersigned",
            f"{sender.code} forwarded {verified.iss}'s report without countersigning",
        )
    category = _category_of(dict(env))
    if category is None:
        raise Refused("unknown_report", "a withdrawal for a report this node does not hold")
    release = release_of(verified.iss, category, verified.markings.to_json())
    relayed_by = sender.code if sender.code != verified.iss else None
    decision = decide(release, own_receiving_policy(sender), relayed_by=relayed_by)
    if not decision.allowed:
        raise Refused("not_entitled", decision.reason)
    try:
        for attempt in range(2):
            try:
                with transaction.atomic():
                    return _store(sender, verified, env, release)
            except IntegrityError:
                # The same item arrived by push and by pull at once; the second look sees it.
                if attempt:
                    raise Refused("busy", "stored concurrently; send it again") from None
        raise AssertionError("unreachable")
    except ProtocolError as exc:
        raise Refused(exc.code, exc.reason) from None
    except PayloadError as exc:
        raise Refused("bad_payload", str(exc)) from None
    except MarkingError as exc:
        raise Refused("bad_markings", exc.message) from None
    except (ValidationError, PermissionDenied) as exc:
        raise Refused("bad_payload", str(exc)[:300]) from None


def _store(sender: Partner, verified: Any, env: dict[str, Any], release: Any) -> str:
    report_id = uuid.UUID(verified.id)
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is not None and report.origin != verified.iss:
        raise Refused("conflict", "this report id belongs to another origin")
    hops = list(env.get("unsigned", {}).get("hops", []))
    same = Envelope.objects.filter(report_id=report_id, ver=verified.ver).first()
    if same is not None:
        if same.digest != verified.digest:
            raise Refused("conflict", f"a different release {verified.ver} is already stored")
        Receipt.objects.get_or_create(
            envelope=same, from_partner=sender.code, defaults={"hops": hops}
        )
        return "duplicate"
    latest = Envelope.objects.filter(report_id=report_id).order_by("-ver").first()
    check_chain(verified, latest.ver if latest else None, latest.digest if latest else None)
    if verified.is_tombstone:
        if report is None:
            raise Refused("unknown_report", "a withdrawal for a report this node does not hold")
        current = report.versions.get(version=report.current_version)
        reason = str(env["payload"].get("reason", "withdrawn"))[:480]
        content = ReportContent(
            **{
                **content_of(current).__dict__,
                "change_note": f"Withdrawn by {verified.iss}: {reason}",
            }
        )
        status = Status.WITHDRAWN
    else:
        data = parse_payload(env["payload"])
        markings = verified.markings
        content = ReportContent(
            title=data["title"],
            summary=data["summary"],
            category=data["category"],
            classification=markings.classification,
            rel_to=list(markings.rel_to),
            orcon=markings.orcon,
            tlp=markings.tlp,
            source_reliability=data["source_reliability"],
            info_credibility=data["info_credibility"],
            details=data["details"],
            event_start=data["event_start"],
            event_end=data["event_end"],
            entities=data["entities"],
            change_note=data["change_note"],
        )
        status = Status.PUBLISHED
    version = record_received_version(
        report_id=report_id,
        origin=verified.iss,
        version_number=verified.ver,
        content=content,
        status=status,
    )
    envelope = Envelope.objects.create(
        report_id=report_id,
        ver=verified.ver,
        typ=verified.typ,
        origin=verified.iss,
        digest=verified.digest,
        body=dict(env),
        iat=verified.iat,
        origin_kid=verified.origin_kid,
        received_from=sender.code,
        hops=hops,
        relay_kids=dict(verified.relay_kids),
        local_version=version.version,
    )
    Receipt.objects.create(envelope=envelope, from_partner=sender.code, hops=hops)
    fan_out(envelope, release, exclude=[sender.code])
    return "accepted"
