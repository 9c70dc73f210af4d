"""Catch-up: a partner that was away pulls our log for it from its cursor; we pull theirs."""

from __future__ import annotations

import logging
from typing import Any

from core.selectors import this_node
from federation.models import Delivery, DeliveryState, Partner
from federation.policy import decide
from federation.selectors import policy_for, release_of

from .inbox import Refused, advance_cursor, receive_items, settled_seqs

log = logging.getLogger(__name__)
MAX_PULL = 200


def log_entries(partner: Partner, after: int, limit: int) -> dict[str, Any]:
    """Our log for `partner` after sequence `after`. Rows it is no longer entitled to are
    listed as skipped, so its cursor can move past them without learning what they were; so
    are sequence numbers with no row left (delivered, superseded and deleted by retention,
    `ops.retention`: seqs are dense and each row commits with its number)."""
    limit = max(1, min(limit, MAX_PULL))
    rows: list[Delivery | None] = list(
        Delivery.objects.filter(partner=partner, seq__gt=after)
        .select_related("envelope", "envelope__report")
        .order_by("seq")[:limit]
    )
    if len(rows) < limit:
        rows.append(None)  # the end of the log: what is missing before it was pruned too
    policy = policy_for(partner)
    me = this_node().code
    from .outbox import _wire_body

    entries: list[dict[str, Any]] = []
    expected = after + 1
    for row in rows:
        upto = partner.next_seq if row is None else row.seq
        gap = range(expected, min(upto, expected + limit - len(entries)))
        entries.extend({"seq": seq, "skipped": True} for seq in gap)
        if row is None or len(entries) >= limit:
            break
        expected = row.seq + 1
        envelope = row.envelope
        release = release_of(envelope.origin, envelope.report.category, envelope.body["markings"])
        relayed_by = me if envelope.origin != me else None
        allowed = (
            row.state != DeliveryState.CANCELLED
            and decide(release, policy, relayed_by=relayed_by).allowed
        )
        entries.append(
            {"seq": row.seq, "envelope": _wire_body(row)}
            if allowed
            else {"seq": row.seq, "skipped": True}
        )
    return {"entries": entries, "last_seq": partner.next_seq - 1}


def pull_from(partner: Partner) -> int:
    """Pull and process everything after our cursor for `partner`. Returns items processed.

    The cursor moves over skipped entries and items decided for good; an item refused as
    retryable (a key we have not seen yet) keeps it where it is, and the pull stops there: the
    next catch-up, or the sender's own retry, decides it again.
    """
    from federation.client import PartnerUnreachable, signed_request

    processed = 0
    for _ in range(50):  # bounded: at most 50 pages per run; the next run goes on
        partner.refresh_from_db()
        after = partner.received_seq
        try:
            answer = signed_request(partner, "GET", f"/fed/v1/log?after={after}&limit={MAX_PULL}")
        except PartnerUnreachable as exc:
            log.info("catch-up from %s postponed: %s", partner.code, exc)
            return processed
        body = answer.body
        if answer.status != 200 or not isinstance(body, dict):
            log.warning("catch-up from %s refused: HTTP %s %s", partner.code, answer.status, body)
            return processed
        entries = body.get("entries")
        if not isinstance(entries, list) or not entries:
            return processed
        items = [e for e in entries if isinstance(e, dict) and "envelope" in e]
        seqs = {e["seq"] for e in entries if isinstance(e, dict) and type(e.get("seq")) is int}
        try:
            results = receive_items(partner, items, advance=False) if items else []
        except Refused as refusal:
            log.warning("catch-up batch from %s refused: %s", partner.code, refusal.reason)
            return processed
        pending = {int(result["seq"]) for result in results} - settled_seqs(results)
        advance_cursor(partner, seqs - pending, pull_on_gap=False)
        processed += len(results)
        if pending or len(entries) < MAX_PULL:
            return processed
    return processed
