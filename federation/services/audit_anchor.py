"""Anchoring the audit log at partners.

Hourly, this node signs the head of its audit chain (seq, hash) with its report key and sends it
to every active partner, which stores it (`store_head`). Later a partner asks for a proof
(`proof`): this node recomputes its chain from the first entry, from content and MAC key, and
returns a freshly signed head with the MACs after the head the partner holds. The partner
checks that they lead from its stored head to the new one (`check`): a rewritten or truncated
log cannot, even if whoever rewrote it held the MAC key, because they cannot change the heads
the partners already hold."""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction

from audit.models import GENESIS, AuditEntry
from audit.selectors import chain_macs
from core.selectors import this_node
from federation.models import KeyUse, Partner, PartnerAuditHead, PartnerStatus
from federation.protocol.audithead import AuditHead, judge, sign_head, verify_head
from federation.protocol.errors import ProtocolError
from federation.protocol.manifest import report_key_resolver
from federation.selectors import manifest_views

from .keys import current_key

MAX_PROOF_MACS = 200_000


def own_head() -> dict[str, Any]:
    """The signed head of this node's audit log as stored (cheap: the latest entry)."""
    last = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
    seq, head = (last.seq, last.hash) if last else (0, GENESIS)
    return sign_head(this_node().code, seq, head, int(time.time()), current_key(KeyUse.REPORT))


def proof(after: int) -> dict[str, Any]:
    """A freshly recomputed, signed head and the MACs of the entries after `after`."""
    seq, head, macs, _ = chain_macs(after)
    if len(macs) > MAX_PROOF_MACS:
        raise ProtocolError("too_large", "ask for a proof from a more recent head")
    signed = sign_head(this_node().code, seq, head, int(time.time()), current_key(KeyUse.REPORT))
    return {"head": signed, "after": after, "macs": macs}


def _verify(partner: Partner, body: Any) -> AuditHead:
    return verify_head(body, report_key_resolver(manifest_views()), partner.code)


def latest_head(partner: Partner) -> PartnerAuditHead | None:
    """The most recent head we still trust (a head judged rewritten or truncated is kept as
    evidence, never as the base of the next check)."""
    trusted = PartnerAuditHead.objects.filter(partner=partner, verdict__in=("", "consistent"))
    return trusted.order_by("-seq", "-at").first()


@transaction.atomic
def store_head(partner: Partner, body: Any) -> PartnerAuditHead:
    """Keep a head a partner published. A head below one already held is kept and marked
    truncated; the same seq with another hash is marked rewritten."""
    head = _verify(partner, body)
    previous = latest_head(partner)
    verdict = ""
    if previous is not None and head.seq < previous.seq:
        verdict = "truncated"
    elif previous is not None and head.seq == previous.seq and head.hash != previous.hash:
        verdict = "rewritten"
    return PartnerAuditHead.objects.create(
        partner=partner,
        seq=head.seq,
        hash=head.hash,
        at=head.at,
        body=dict(head.body),
        verdict=verdict,
    )


def check(partner: Partner) -> dict[str, Any]:
    """Ask `partner` for a proof from the latest head we hold; judge it and keep the verdict."""
    from federation.client import signed_request

    held = latest_head(partner)
    after, held_hash = (held.seq, held.hash) if held else (0, GENESIS)
    answer = signed_request(partner, "GET", f"/fed/v1/audit/proof?after={after}")
    if answer.status != 200 or not isinstance(answer.body, dict):
        raise ProtocolError("bad_audit_proof", f"proof request answered HTTP {answer.status}")
    head = _verify(partner, answer.body.get("head"))
    macs = answer.body.get("macs")
    if not isinstance(macs, list) or not all(isinstance(m, str) for m in macs):
        raise ProtocolError("bad_audit_proof", "macs must be a list of hex strings")
    verdict = judge(after, held_hash, head, macs)
    PartnerAuditHead.objects.create(
        partner=partner,
        seq=head.seq,
        hash=head.hash,
        at=head.at,
        body=dict(head.body),
        verdict=verdict,
    )
    if verdict != "consistent":
        from .inbox import record_refusal

        record_refusal(
            partner.code,
            f"audit_{verdict}",
            f"audit log {verdict}: held head #{after}, shown #{head.seq}",
        )
    return {"partner": partner.code, "verdict": verdict, "held": after, "shown": head.seq}


def publish_heads() -> int:
    """Send our signed head to every active partner; the number that stored it."""
    from federation.client import PartnerUnreachable, signed_request

    body = own_head()
    stored = 0
    for partner in Partner.objects.filter(status=PartnerStatus.ACTIVE):
        try:
            stored += signed_request(partner, "POST", "/fed/v1/audit/heads", body).status == 200
        except PartnerUnreachable:
            continue  # the next hourly run tries again
    return stored
