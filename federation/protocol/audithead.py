"""Signed heads of a node's audit log, and the proof that a later head extends an earlier one.

The audit chain (platform/audit) links entry k as ``hash_k = sha256(hash_{k-1} || mac_k)``
where ``mac_k`` is an HMAC of the entry's content under a key kept outside the database. The
macs reveal nothing of the content, so a node can hand a partner the macs between two heads:
the partner recomputes the chain from the head it stored to the head it is shown. A rewritten
entry at or before the stored head changes every later hash (the proof no longer reaches the
new head); a truncated log shows a head below the stored one.

Shape (signed like an envelope, over canonical JSON of everything except ``signatures``)::

    {"typ": "fed.audit-head", "v": 1, "node": "us", "seq": 4211, "hash": hex64, "at": t,
     "signatures": {"us": {report_kid: b64url-sig}}}
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._checks import as_int, as_object, as_str, exact_fields, fail
from .canonical import canonical_bytes
from .encoding import b64u_decode, b64u_encode
from .keys import NodeKey, PublicKey, check_node

HEAD_TYP: Final = "fed.audit-head"
GENESIS: Final = "0" * 64
_BAD = "bad_audit_head"
_FIELDS: Final = frozenset({"typ", "v", "node", "seq", "hash", "at"})
_HEX64 = re.compile(r"[0-9a-f]{64}")


def chain_step(prev_hash: str, mac: str) -> str:
    """The hash of an entry from the one before it and the entry's own MAC (both hex)."""
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(mac)).hexdigest()


def extend(from_hash: str, macs: Iterable[str]) -> str:
    head = from_hash
    for mac in macs:
        head = chain_step(head, mac)
    return head


@dataclass(frozen=True, slots=True)
class AuditHead:
    node: str
    seq: int
    hash: str
    at: int
    body: Mapping[str, Any]


def sign_head(node: str, seq: int, head_hash: str, at: int, key: NodeKey) -> dict[str, Any]:
    if key.use != "report" or key.node != node:
        fail("wrong_key_use", "audit heads are signed with the node's own report key")
    body = {"typ": HEAD_TYP, "v": 1, "node": node, "seq": seq, "hash": head_hash, "at": at}
    _parse(body)
    signature = b64u_encode(key.sign(canonical_bytes(body)))
    return {**body, "signatures": {node: {key.kid: signature}}}


def _parse(body: Mapping[str, Any]) -> tuple[str, int, str, int]:
    exact_fields(body, _FIELDS, "audit head", _BAD)
    if body["typ"] != HEAD_TYP or body["v"] != 1:
        fail(_BAD, "not a fed.audit-head v1")
    node = check_node(body["node"], code=_BAD)
    seq = as_int(body["seq"], "seq", _BAD, minimum=0)
    head_hash = as_str(body["hash"], "hash", _BAD, max_len=64)
    if _HEX64.fullmatch(head_hash) is None:
        fail(_BAD, "hash is 64 lower-case hex characters")
    return node, seq, head_hash, as_int(body["at"], "at", _BAD)


def verify_head(
    obj: object, resolve_key: Callable[[str, str, int], PublicKey], expected_node: str
) -> AuditHead:
    """Verify a head signed by `expected_node`'s report key valid at the head's time."""
    raw = as_object(obj, "audit head", _BAD)
    signatures = as_object(raw.get("signatures"), "signatures", _BAD)
    body = {k: v for k, v in raw.items() if k != "signatures"}
    node, seq, head_hash, at = _parse(body)
    if node != expected_node or set(signatures) != {node}:
        fail(_BAD, f"an audit head of {node} is signed by that node only")
    by_node = as_object(signatures[node], "signatures", _BAD)
    if len(by_node) != 1:
        fail(_BAD, "an audit head carries one signature")
    [(kid, sig_text)] = by_node.items()
    key = resolve_key(node, str(kid), at)
    sig = b64u_decode(as_str(sig_text, "signature", _BAD), code=_BAD, what="signature")
    if not key.verify(sig, canonical_bytes(body)):
        fail("bad_signature", "the audit head's signature does not verify")
    return AuditHead(node, seq, head_hash, at, raw)


def judge(stored_seq: int, stored_hash: str, head: AuditHead, macs: list[str]) -> str:
    """Compare a head a partner stored with a newer proof: consistent, truncated or rewritten.

    `macs` are the entries after `stored_seq` up to `head.seq`."""
    if head.seq < stored_seq:
        return "truncated"
    if len(macs) != head.seq - stored_seq or any(_HEX64.fullmatch(m) is None for m in macs):
        return "rewritten"
    return "consistent" if extend(stored_hash, macs) == head.hash else "rewritten"
