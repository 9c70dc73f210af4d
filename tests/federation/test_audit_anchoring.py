"""Audit anchoring in process: a partner's signed heads are stored, refused when forged, and a
proof from this node lets a partner tell a consistent log from a rewritten or truncated one."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.test import Client

from audit.services import record
from federation.models import PartnerAuditHead
from federation.protocol.audithead import GENESIS, AuditHead, extend, judge, sign_head
from federation.protocol.canonical import canonical_bytes
from federation.protocol.keys import generate
from tests.federation.partners import JSON, FakePartner, post_raw

HEADS = "/fed/v1/audit/heads"
PROOF = "/fed/v1/audit/proof"


def post_head(client: Client, uk: FakePartner, head: dict[str, Any]) -> Any:
    body = canonical_bytes(head)
    headers = uk.sign_request(body, url=f"{settings.NODE_PUBLIC_URL}{HEADS}")
    return post_raw(client, body, headers, path=HEADS)


def get_proof(client: Client, uk: FakePartner, after: int) -> Any:
    path = f"{PROOF}?after={after}"
    headers = uk.sign_request(b"", url=f"{settings.NODE_PUBLIC_URL}{path}", method="GET")
    headers["Content-Type"] = JSON
    return client.generic("GET", path, b"", headers=headers)


def test_judge_tells_consistent_rewritten_and_truncated_apart() -> None:
    macs = [f"{n:064x}" for n in range(1, 6)]
    held = extend(GENESIS, macs[:3])
    head = AuditHead("us", 5, extend(GENESIS, macs), 0, {})
    assert judge(3, held, head, macs[3:]) == "consistent"
    forged = AuditHead("us", 5, extend(GENESIS, ["f" * 64, *macs[1:]]), 0, {})
    assert judge(3, held, forged, macs[3:]) == "rewritten"
    assert judge(3, held, head, macs[4:]) == "rewritten"  # an entry went missing
    assert judge(3, held, AuditHead("us", 2, extend(GENESIS, macs[:2]), 0, {}), []) == "truncated"


def test_a_partner_head_is_stored_and_a_forged_one_refused(client: Client, uk: FakePartner) -> None:
    head = sign_head("uk", 7, "a" * 64, int(time.time()), uk.report)
    answer = post_head(client, uk, head)
    assert answer.status_code == 200, answer.content
    stored = PartnerAuditHead.objects.get(partner__code="uk")
    assert (stored.seq, stored.hash, stored.verdict) == (7, "a" * 64, "")
    # Signed by a key uk's manifest does not list: refused, nothing stored.
    forged = sign_head("uk", 8, "b" * 64, int(time.time()), generate("uk", "report"))
    refused = post_head(client, uk, forged)
    assert refused.status_code == 400
    assert refused.json()["code"] == "unknown_key"
    assert PartnerAuditHead.objects.filter(partner__code="uk").count() == 1
    # A later head below the one held is kept as evidence of truncation.
    lower = post_head(client, uk, sign_head("uk", 3, "c" * 64, int(time.time()), uk.report))
    assert lower.json()["verdict"] == "truncated"


def test_our_proof_extends_the_head_a_partner_holds(client: Client, uk: FakePartner) -> None:
    for n in range(4):
        record("alice", "report.view", f"r-{n}")
    first = get_proof(client, uk, 0).json()
    held_seq, held_hash = first["head"]["seq"], first["head"]["hash"]
    assert extend(GENESIS, first["macs"]) == held_hash
    record("bob", "report.view", "r-9")
    later = get_proof(client, uk, held_seq).json()
    assert len(later["macs"]) == later["head"]["seq"] - held_seq == 1
    head = AuditHead("us", later["head"]["seq"], later["head"]["hash"], 0, {})
    assert judge(held_seq, held_hash, head, later["macs"]) == "consistent"


def test_a_proof_request_outside_the_protocol(client: Client, uk: FakePartner) -> None:
    assert get_proof(client, uk, -1).status_code == 400
    unsigned = client.get(f"{PROOF}?after=0")
    assert unsigned.status_code == 401
