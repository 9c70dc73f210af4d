"""Receiving: verify, check entitlement, store idempotently, relay onwards, answer per item.

Order of checks for each item, cheapest and most decisive first: the envelope's structure and
origin signature (key valid at issue time), the relay's countersignature, this node's
entitlement under the origin's signed markings, the version chain, then the payload schema.

A batch is received in bulk: every item is checked in Python first (signatures, entitlement,
payload and markings), then, in one transaction, the reports and releases already held are
read in one query each, the version chains are decided in memory in sequence order (a later
item sees what an earlier one stored) and everything accepted is written with bulk inserts.
Refused items write nothing but their Refusal row (written after the commit, as before).

If the bulk write collides with a concurrent one (the same item arriving by push and by pull),
it is rolled back and decided again against what the other writer stored; if that collides
too, the batch is received item by item, each item in its own savepoint, as it always was. The
answers are the same on every path.

Faults are contained per item: an unexpected error while checking or storing one item (a bug,
a value the database will not hold) refuses that item as ``internal_error`` (retryable, logged)
and the bulk write falls back to item by item, so the items beside it are still decided. The
refusal rows and the sender's ``suspected_leak`` flag are written after the batch in
transactions of their own, from text cleaned of what PostgreSQL cannot store: a fault elsewhere
in the batch can never wipe the record of a leak.

Entitlement is one decision (`policy.decide`, through `_check_entitled`) on both paths: a breach
of the origin's signed markings is `not_entitled` and flags the sender as a suspected leak; a
refusal by this node's own policy for the sender (the markings allow us) is
`not_accepted_by_policy`, no leak, and the sender holds the copy and sends it again later.

Retryable refusals (`RETRYABLE_CODES`: e.g. a report key this node has not seen yet) are never
the final answer for a transaction: a retry of the same txn decides those items again, and
they do not move the receiving cursor, so catch-up pulls them again too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.bulk import copy_create
from core.enqueue import after_commit
from core.markings import MarkingError
from core.selectors import this_node
from federation.dbtext import clean_text
from federation.models import (
    Delivery,
    Envelope,
    InboundTransaction,
    Partner,
    PartnerStatus,
    Receipt,
    Refusal,
)
from federation.noncestore import first_in_window
from federation.payloads import PayloadError, parse_payload
from federation.policy import Policy, Release, decide
from federation.protocol.envelope import VerifiedEnvelope, check_chain, verify_envelope
from federation.protocol.errors import NOT_ACCEPTED_BY_POLICY, RETRYABLE_CODES, ProtocolError
from federation.protocol.keys import NODE_RE
from federation.protocol.manifest import report_key_resolver
from federation.selectors import manifest_views, own_receiving_policy, policy_for, release_of
from reports.models import Report, Status
from reports.services import (
    ReceivedVersion,
    ReportContent,
    check_received_version,
    content_of,
    content_once_stored,
    record_received_version,
    record_received_versions,
)

from .outbox import fan_out, share_fan_out_lock

log = logging.getLogger(__name__)
MAX_ITEMS = 200
# Refusals that mean the sender broke the markings (or let someone tamper with them); a
# refusal by this node's own policy (NOT_ACCEPTED_BY_POLICY) is not one.
BREACH_CODES = frozenset({"not_entitled", "bad_signature", "relay_not_countersigned"})
MAX_RECORDED_VER = 2**31 - 1  # Refusal.ver is a PositiveIntegerField
# Sequence numbers received beyond a hole in a partner's log are remembered
# (Partner.received_ahead).
# Bounded: anything forgotten is pulled again by catch-up and acknowledged as a duplicate.
MAX_AHEAD = 10_000
TXN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")
"""A batch's transaction id: 8 to 64 characters of a bounded ASCII set (a UUID, hex, ...)."""
INTERNAL_ERROR = "internal_error"
KEY_LOOKUP_S = 60
"""An unknown key makes this node fetch the signer's manifest at most this often."""


@dataclass(frozen=True)
class ItemResult:
    seq: int | None
    result: str  # accepted | duplicate | refused
    code: str = ""
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"seq": self.seq, "result": self.result}
        if self.result == "refused":
            data.update(code=clean_text(self.code), reason=clean_text(self.reason))
        return data


def is_retryable(result: dict[str, Any]) -> bool:
    """A refused result that may be decided otherwise if the item is sent again."""
    return result.get("result") == "refused" and result.get("code") in RETRYABLE_CODES


class Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _internal_error(exc: BaseException, what: str) -> Refused:
    """The refusal for an unexpected fault: logged here with its traceback, told to the sender
    without details (retryable: it may pass)."""
    log.exception("unexpected error %s", what)
    return Refused(INTERNAL_ERROR, f"this node failed unexpectedly ({type(exc).__name__}); retry")


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
    row = _refusal_row(
        partner, code, reason, env=env, leak=leak, remote_addr=remote_addr, path=path
    )
    save_refusals(partner, [row])


def save_refusals(partner: str, rows: list[Refusal]) -> None:
    """Write refusal rows and flag a leaking sender, each in a transaction of its own (never
    inside the caller's batch): the flag is set even if the rows cannot be written, and a row
    that cannot be written does not take the others with it."""
    if not rows:
        return
    if partner and any(row.leak_suspected for row in rows):
        try:
            with transaction.atomic():
                Partner.objects.filter(code=clean_text(partner, 8)).update(suspected_leak=True)
        except DatabaseError:
            log.exception("could not flag %s as a suspected leak", partner[:8])
    try:
        with transaction.atomic():
            Refusal.objects.bulk_create(rows)
        return
    except DatabaseError:
        log.exception("refusals from %s not written together; writing them one by one", partner)
    for row in rows:
        try:
            with transaction.atomic():
                row.pk = None
                row.save()
        except DatabaseError:
            log.exception("refusal %s from %s not recorded", row.code, partner[:8])


def _refusal_row(
    partner: str,
    code: str,
    reason: str,
    *,
    env: Any = None,
    leak: bool = False,
    remote_addr: str = "",
    path: str = "",
) -> Refusal:
    """A Refusal row built only from text its columns can hold (whatever the sender sent)."""
    fields: dict[str, Any] = {}
    if isinstance(env, dict):
        ver = env.get("ver")
        fields = {
            "origin": clean_text(env.get("iss", ""), 8),
            "report_id": clean_text(env.get("id", ""), 40),
            # A hostile ver may be any JSON integer: keep only what the column can hold.
            "ver": ver if type(ver) is int and 0 < ver <= MAX_RECORDED_VER else None,
        }
    return Refusal(
        partner=clean_text(partner, 8),
        code=clean_text(code, 40),
        reason=clean_text(reason, 500),
        leak_suspected=leak,
        remote_addr=clean_text(remote_addr, 64),
        path=clean_text(path, 200),
        **fields,
    )


def parse_batch(body: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(body, dict) or set(body) != {"txn", "items"}:
        raise Refused("bad_batch", 'a batch is {"txn": "<id>", "items": [...]}')
    txn, items = body["txn"], body["items"]
    if not isinstance(txn, str) or TXN_RE.fullmatch(txn) is None:
        raise Refused(
            "bad_batch", "txn must be 8 to 64 characters of A-Z a-z 0-9 . _ : - (not . _ : - first)"
        )
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
    """Process a pushed batch; the answer lists one result per item.

    A transaction id seen before is answered from what was decided then, except for items
    refused as retryable: those are decided again (the sender retries with the same txn, and
    this node may have learnt the key it lacked since).
    """
    txn, items = parse_batch(body)
    earlier = InboundTransaction.objects.filter(partner=sender.code, txn_id=txn).first()
    final = _final_results(earlier.results if earlier else [])
    todo = [item for item in items if item["seq"] not in final]
    decided = receive_items(sender, todo) if todo else []
    kept = [final[seq] for seq in sorted({item["seq"] for item in items} & final.keys())]
    results = sorted([*kept, *decided], key=lambda result: int(result["seq"]))
    if decided:
        _remember(sender, txn, decided)
    return {"txn": txn, "results": results}


def _final_results(results: Iterable[Any]) -> dict[int, dict[str, Any]]:
    """seq -> result, for the results that are a final answer (not retryable)."""
    return {
        result["seq"]: result
        for result in results
        if isinstance(result, dict) and type(result.get("seq")) is int and not is_retryable(result)
    }


def _remember(sender: Partner, txn: str, decided: list[dict[str, Any]]) -> None:
    """Record the results of a transaction: a new decision replaces a retryable one, never a
    final one (two retries of one txn may race; the first final answer stands)."""
    with transaction.atomic():
        row, created = InboundTransaction.objects.select_for_update().get_or_create(
            partner=sender.code, txn_id=txn, defaults={"results": decided}
        )
        if created:
            return
        merged = {result["seq"]: result for result in row.results if isinstance(result, dict)}
        for result in decided:
            held = merged.get(result["seq"])
            if held is None or is_retryable(held):
                merged[result["seq"]] = result
        row.results = [merged[seq] for seq in sorted(merged)]
        row.save(update_fields=["results"])


def receive_items(
    sender: Partner, items: list[dict[str, Any]], *, advance: bool = True
) -> list[dict[str, Any]]:
    """Decide `items` (in seq order). With `advance`, the receiving cursor moves over every
    item decided for good; an item refused as retryable leaves a hole that catch-up fills."""
    resolver = report_key_resolver(manifest_views())
    now = int(time.time())
    ordered = sorted(items, key=lambda entry: int(entry["seq"]))
    try:
        results = _receive_in_bulk(sender, ordered, resolver, now)
    except _BulkAborted as aborted:
        log.info("batch from %s received item by item: %r", sender.code, aborted.__cause__)
        results = _receive_each(sender, ordered, resolver, now)
    if advance:
        advance_cursor(sender, settled_seqs(results))
    _look_for_unknown_keys(ordered, results)
    return results


def _look_for_unknown_keys(ordered: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """Items refused as unknown_key: fetch the signers' manifests after the commit (at most
    once a minute each), so a key rotated without our hearing of it is known by the retry."""
    nodes: set[str] = set()
    for item, result in zip(ordered, results, strict=True):
        if result.get("code") == "unknown_key":
            env = item["envelope"]
            signers = env.get("signatures")
            named = [env.get("iss"), *(signers if isinstance(signers, dict) else ())]
            nodes.update(n for n in named if isinstance(n, str) and NODE_RE.fullmatch(n))
    asked = [node for node in sorted(nodes) if first_in_window(f"refresh:{node}", KEY_LOOKUP_S)]
    if asked:
        for node in asked:
            after_commit("federation.tasks.refresh_manifest_of", node)


def settled_seqs(results: Iterable[dict[str, Any]]) -> set[int]:
    """The sequence numbers decided for good (accepted, duplicate, or refused for good)."""
    return {int(result["seq"]) for result in results if not is_retryable(result)}


def _receive_each(
    sender: Partner, ordered: list[dict[str, Any]], resolver: Any, now: int
) -> list[dict[str, Any]]:
    """The item-by-item path: each item in its own savepoint, so a fault in one (refused as
    internal_error) leaves the others decided; the refusals are recorded after the loop."""
    results: list[dict[str, Any]] = []
    refusals: list[Refusal] = []
    for item in ordered:
        seq = int(item["seq"])
        env = item["envelope"]
        try:
            with transaction.atomic():
                outcome = _receive_one(sender, env, resolver, now)
            results.append(ItemResult(seq, outcome).as_json())
            continue
        except Refused as exc:
            refusal = exc
        except Exception as exc:  # a fault in one item is that item's refusal
            refusal = _internal_error(exc, f"receiving item {seq} from {sender.code}")
        leak = refusal.code in BREACH_CODES
        refusals.append(_refusal_row(sender.code, refusal.code, refusal.reason, env=env, leak=leak))
        results.append(ItemResult(seq, "refused", refusal.code, refusal.reason).as_json())
    save_refusals(sender.code, refusals)
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
        # Pull only if the hole is still there shortly after: an in-flight batch usually fills it.
        after_commit("federation.tasks.catch_up", sender.code, only_if_gap=True, countdown=5)


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


_ITEM_ERRORS = (ProtocolError, PayloadError, MarkingError, ValidationError, PermissionDenied)


def _refusal_of(exc: Exception) -> Refused:
    """The refusal an item gets for an error raised while checking or storing it."""
    if isinstance(exc, ProtocolError):
        return Refused(exc.code, exc.reason)
    if isinstance(exc, PayloadError):
        return Refused("bad_payload", str(exc))
    if isinstance(exc, MarkingError):
        return Refused("bad_markings", exc.message)
    return Refused("bad_payload", str(exc)[:300])


def _payload_content(verified: VerifiedEnvelope, env: dict[str, Any]) -> ReportContent:
    """A report's content from its payload (schema-checked here) and its signed markings."""
    data = parse_payload(env["payload"])
    markings = verified.markings
    return ReportContent(
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


def _withdrawal_content(
    verified: VerifiedEnvelope, env: dict[str, Any], current: ReportContent
) -> ReportContent:
    """A withdrawal keeps the current version's content, with the origin's reason as its note."""
    reason = str(env["payload"].get("reason", "withdrawn"))[:480]
    return ReportContent(
        **{**current.__dict__, "change_note": f"Withdrawn by {verified.iss}: {reason}"}
    )


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
    _check_entitled(sender, verified, release, own_receiving_policy(sender))
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
    except _ITEM_ERRORS as exc:
        raise _refusal_of(exc) from None


def _store(
    sender: Partner, verified: VerifiedEnvelope, env: dict[str, Any], release: Release
) -> str:
    report_id = uuid.UUID(verified.id)
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is not None and report.origin != verified.iss:
        raise Refused("conflict", "this report id belongs to another origin")
    hops = list(env.get("unsigned", {}).get("hops", []))
    # Every release held for this report, newest first: one query answers "same" and "latest".
    held = list(
        Envelope.objects.filter(report_id=report_id).order_by("-ver").only("id", "ver", "digest")
    )
    same = next((e for e in held if e.ver == verified.ver), None)
    if same is not None:
        if same.digest != verified.digest:
            raise Refused("conflict", f"a different release {verified.ver} is already stored")
        Receipt.objects.get_or_create(
            envelope=same, from_partner=sender.code, defaults={"hops": hops}
        )
        return "duplicate"
    latest = held[0] if held else None
    check_chain(verified, latest.ver if latest else None, latest.digest if latest else None)
    if verified.is_tombstone:
        if report is None:
            raise Refused("unknown_report", "a withdrawal for a report this node does not hold")
        current = report.versions.get(version=report.current_version)
        content = _withdrawal_content(verified, env, content_of(current))
        status = Status.WITHDRAWN
    else:
        content = _payload_content(verified, env)
        status = Status.PUBLISHED
    version = record_received_version(
        report_id=report_id,
        origin=verified.iss,
        version_number=verified.ver,
        content=content,
        status=status,
        details_validated=True,  # parse_payload, or a stored version's details
        report=report,
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


# --------------------------------------------------------------------------------------------
# The bulk path
# --------------------------------------------------------------------------------------------

_NOT_HELD = "a withdrawal for a report this node does not hold"


class _BulkAborted(Exception):
    """The bulk write collided with a concurrent one: receive the batch item by item."""


@dataclass
class _Item:
    """One item of a batch on its way through the bulk path."""

    seq: int
    env: Any
    verified: VerifiedEnvelope | None = None
    release: Release | None = None
    # A report's content, checked before the transaction (or why it would be refused).
    prepared: ReceivedVersion | Refused | None = None
    result: ItemResult | None = None
    refusal: Refused | None = None

    def refuse(self, refusal: Refused) -> None:
        self.refusal = refusal
        self.result = ItemResult(self.seq, "refused", refusal.code, refusal.reason)


@dataclass
class _Held:
    """What this node holds of one report, as the items before the current one left it."""

    origin: str
    category: str
    report: Report | None  # the locked row; None for a report first stored by this batch
    releases: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    """ver -> (digest, envelope pk; None when stored by this batch)"""
    latest: tuple[int, str] | None = None
    current: ReceivedVersion | None = None
    """the current version when this batch stored it"""

    def add(self, ver: int, digest: str, envelope_pk: int | None) -> None:
        self.releases[ver] = (digest, envelope_pk)
        if self.latest is None or ver > self.latest[0]:
            self.latest = (ver, digest)


@dataclass
class _Accepted:
    item: _Item
    verified: VerifiedEnvelope
    release: Release
    received: ReceivedVersion
    hops: list[Any]


def _receive_in_bulk(
    sender: Partner, ordered: list[dict[str, Any]], resolver: Any, now: int
) -> list[dict[str, Any]]:
    me = this_node().code
    policy = own_receiving_policy(sender)
    items = [_Item(int(entry["seq"]), entry["envelope"]) for entry in ordered]
    for item in items:  # no writes, no locks: signatures, entitlement, payload, markings
        try:
            _check_alone(sender, item, resolver, now, me, policy)
        except Refused as refusal:
            item.refuse(refusal)
        except Exception as exc:
            # A fault, not a refusal: the item-by-item path contains it to its own item.
            raise _BulkAborted from exc
    for attempt in range(2):
        trial = [replace(item) for item in items]  # as the checks above left them
        try:
            with transaction.atomic():
                _decide_and_write(sender, trial, policy)
            break
        except IntegrityError as exc:
            # A concurrent writer stored some of these items first (push and pull at once).
            # It has committed by now: decide again against what it wrote, then give up on
            # the bulk path if that collides too.
            if attempt:
                raise _BulkAborted from exc
            log.info("batch from %s collided, deciding it again: %s", sender.code, exc)
        except Exception as exc:
            # Anything else (a value the database refused, a bug) rolled the batch back:
            # received item by item, the faulty item alone is refused.
            raise _BulkAborted from exc
    items = trial
    # After the commit, as the item-by-item path does: flagging the sender locks its row, which
    # the batch transaction must not hold while it locks the partners it relays to.
    _record_refusals(sender, items)
    results: list[dict[str, Any]] = []
    for item in items:
        assert item.result is not None
        results.append(item.result.as_json())
    return results


def _check_alone(
    sender: Partner, item: _Item, resolver: Any, now: int, me: str, policy: Policy
) -> None:
    """The checks that do not depend on what is stored, in `_receive_one`'s order; a
    withdrawal's entitlement needs the stored report's category and is decided in order."""
    try:
        verified = verify_envelope(item.env, resolver, now)
    except ProtocolError as exc:
        raise Refused(exc.code, exc.reason) from None
    if verified.iss == me:
        item.result = ItemResult(item.seq, "duplicate")  # our own report, relayed back
        return
    if sender.code != verified.iss and sender.code not in verified.relay_kids:
        raise Refused(
            "relay_not_countersigned",
            f"{sender.code} forwarded {verified.iss}'s report without countersigning",
        )
    item.verified = verified
    if verified.is_tombstone:
        return
    category = item.env["payload"].get("category")
    item.release = release_of(
        verified.iss, category if isinstance(category, str) else "", verified.markings.to_json()
    )
    _check_entitled(sender, verified, item.release, policy)
    # Checked now, outside the transaction; a refusal counts only if the chain checks pass.
    try:
        item.prepared = check_received_version(
            report_id=uuid.UUID(verified.id),
            origin=verified.iss,
            version_number=verified.ver,
            content=_payload_content(verified, dict(item.env)),
            status=Status.PUBLISHED,
            details_validated=True,  # by parse_payload
        )
    except _ITEM_ERRORS as exc:
        item.prepared = _refusal_of(exc)


def _check_entitled(
    sender: Partner, verified: VerifiedEnvelope, release: Release, policy: Policy
) -> None:
    """The entitlement decision of both paths: a breach of the signed markings is
    `not_entitled` (a leak by the sender); a refusal by this node's own policy for the sender
    is `not_accepted_by_policy` (no leak: the sender holds the copy and sends it again)."""
    relayed_by = sender.code if sender.code != verified.iss else None
    decision = decide(release, policy, relayed_by=relayed_by)
    if not decision.allowed:
        code = "not_entitled" if decision.breach else NOT_ACCEPTED_BY_POLICY
        raise Refused(code, decision.reason)


def _decide_and_write(sender: Partner, items: list[_Item], policy: Policy) -> None:
    """Inside the batch transaction: lock and read what is held, decide every item in order
    against it (and against the items before it), then write everything in bulk."""
    live = [item for item in items if item.result is None]
    held = _load_held([uuid.UUID(item.verified.id) for item in live if item.verified])
    accepted: list[_Accepted] = []
    receipts: dict[int, Receipt] = {}  # duplicates of releases stored before this batch
    for item in live:
        try:
            outcome = _decide(sender, item, held, policy, receipts)
        except Refused as refusal:
            item.refuse(refusal)
            continue
        if outcome is not None:
            accepted.append(outcome)
            item.result = ItemResult(item.seq, "accepted")
        else:
            item.result = ItemResult(item.seq, "duplicate")
    if accepted:
        locked = {key: state.report for key, state in held.items() if state.report is not None}
        versions = record_received_versions([a.received for a in accepted], locked=locked)
        envelopes = [
            Envelope(
                report_id=a.received.report_id,
                ver=a.verified.ver,
                typ=a.verified.typ,
                origin=a.verified.iss,
                digest=a.verified.digest,
                body=dict(a.item.env),
                iat=a.verified.iat,
                origin_kid=a.verified.origin_kid,
                received_from=sender.code,
                hops=a.hops,
                relay_kids=dict(a.verified.relay_kids),
                local_version=version.version,
            )
            for a, version in zip(accepted, versions, strict=True)
        ]
        copy_create(envelopes)
        new_receipts = [
            Receipt(envelope=envelope, from_partner=sender.code, hops=a.hops)
            for a, envelope in zip(accepted, envelopes, strict=True)
        ]
    else:
        envelopes, new_receipts = [], []
    if receipts or new_receipts:
        # ignore_conflicts: a copy already received by this path keeps its first receipt
        # (get_or_create in the item-by-item path).
        earlier = [receipts[pk] for pk in sorted(receipts)]  # rows taken in one order
        Receipt.objects.bulk_create([*earlier, *new_receipts], ignore_conflicts=True)
    if accepted:
        fan_out_many(
            [(envelope, a.release) for a, envelope in zip(accepted, envelopes, strict=True)],
            exclude=[sender.code],
        )


def _load_held(report_ids: list[uuid.UUID]) -> dict[uuid.UUID, _Held]:
    """The reports and releases held for `report_ids`, one query each; reports are locked in
    id order (a concurrent batch naming the same reports waits, and never deadlocks)."""
    if not report_ids:
        return {}
    ids = sorted(set(report_ids))
    held = {
        report.pk: _Held(report.origin, report.category, report)
        for report in Report.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    rows = Envelope.objects.filter(report_id__in=ids).values_list(
        "report_id", "pk", "ver", "digest"
    )
    for report_id, pk, ver, digest in rows:
        state = held.get(report_id)
        if state is None:  # stored concurrently since the lock: decide again
            raise IntegrityError(f"report {report_id} appeared while the batch was read")
        state.add(ver, digest, pk)
    return held


def _decide(
    sender: Partner,
    item: _Item,
    held: dict[uuid.UUID, _Held],
    policy: Policy,
    receipts: dict[int, Receipt],
) -> _Accepted | None:
    """`_receive_one` and `_store` for one item, against `held` instead of the database:
    an accepted item (recorded in `held`), None for a duplicate, or Refused."""
    verified = item.verified
    assert verified is not None
    report_id = uuid.UUID(verified.id)
    state = held.get(report_id)
    if verified.is_tombstone:
        if state is None:
            raise Refused("unknown_report", _NOT_HELD)
        item.release = release_of(verified.iss, state.category, verified.markings.to_json())
        _check_entitled(sender, verified, item.release, policy)
    assert item.release is not None
    try:
        if state is not None and state.origin != verified.iss:
            raise Refused("conflict", "this report id belongs to another origin")
        hops = list(item.env.get("unsigned", {}).get("hops", []))
        same = state.releases.get(verified.ver) if state else None
        if same is not None:
            digest, envelope_pk = same
            if digest != verified.digest:
                raise Refused("conflict", f"a different release {verified.ver} is already stored")
            if envelope_pk is not None and envelope_pk not in receipts:
                receipts[envelope_pk] = Receipt(
                    envelope_id=envelope_pk, from_partner=sender.code, hops=hops
                )
            return None  # a duplicate (if this batch stored it, its receipt is on the way)
        latest = state.latest if state else None
        check_chain(verified, *(latest if latest else (None, None)))
        if verified.is_tombstone:
            assert state is not None
            if state.current is not None:
                current = content_once_stored(state.current)
            else:
                report = state.report
                assert report is not None
                current = content_of(report.versions.get(version=report.current_version))
            received = check_received_version(
                report_id=report_id,
                origin=verified.iss,
                version_number=verified.ver,
                content=_withdrawal_content(verified, dict(item.env), current),
                status=Status.WITHDRAWN,
                details_validated=True,  # a stored version's details
            )
        else:
            prepared = item.prepared
            if isinstance(prepared, Refused):
                raise prepared
            assert prepared is not None
            received = prepared
    except _ITEM_ERRORS as exc:
        raise _refusal_of(exc) from None
    if state is None:
        state = held[report_id] = _Held(verified.iss, received.content.category, None)
    state.add(verified.ver, verified.digest, None)
    state.category = received.content.category
    state.current = received
    return _Accepted(item, verified, item.release, received, hops)


def _record_refusals(sender: Partner, items: list[_Item]) -> None:
    rows = [
        _refusal_row(
            sender.code,
            item.refusal.code,
            item.refusal.reason,
            env=item.env,
            leak=item.refusal.code in BREACH_CODES,
        )
        for item in items
        if item.refusal is not None
    ]
    save_refusals(sender.code, rows)


def fan_out_many(owed: list[tuple[Envelope, Release]], *, exclude: Iterable[str] = ()) -> list[str]:
    """`outbox.fan_out` for several new envelopes at once, in their order: the same decisions
    and the same dense sequence numbers, with one partner read, one lock of the entitled
    partners (in code order), one insert and one update per partner. Returns the codes owed."""
    if not owed:
        return []
    share_fan_out_lock()  # the bulk path's relays race a resume like any release
    me = this_node().code
    excluded = {me, *exclude}
    partners = list(Partner.objects.filter(status=PartnerStatus.ACTIVE).select_related("policy"))
    policies = {partner.pk: policy_for(partner) for partner in partners}
    entitled: list[set[int]] = []
    for envelope, release in owed:
        skip = {envelope.origin, *excluded}
        relayed_by = me if envelope.origin != me else None
        entitled.append(
            {
                partner.pk
                for partner in partners
                if partner.code not in skip
                and decide(release, policies[partner.pk], relayed_by=relayed_by).allowed
            }
        )
    wanted = set().union(*entitled)
    if not wanted:
        return []
    now = timezone.now()
    locked = list(Partner.objects.select_for_update().filter(pk__in=wanted).order_by("code"))
    next_seq = {partner.pk: partner.next_seq for partner in locked}
    deliveries: list[Delivery] = []
    for (envelope, _), to in zip(owed, entitled, strict=True):
        for partner in locked:
            if partner.pk in to:
                seq = next_seq[partner.pk]
                next_seq[partner.pk] = seq + 1
                deliveries.append(
                    Delivery(partner=partner, envelope=envelope, seq=seq, next_attempt_at=now)
                )
    Delivery.objects.bulk_create(deliveries)
    codes = []
    for partner in locked:
        count = next_seq[partner.pk] - partner.next_seq
        if count:
            Partner.objects.filter(pk=partner.pk).update(next_seq=F("next_seq") + count)
            codes.append(partner.code)
    if codes:
        for code in codes:
            after_commit("federation.tasks.deliver", code)
    return codes
