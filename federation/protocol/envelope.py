"""Report envelopes: one JSON object, signed at object level, verifiable end to end.

Shape (design section 7.1 of the signing reference)::

    {"v": 1, "typ": "fed.report" | "fed.tombstone", "iss": "uk", "id": "<uuid>", "ver": 3,
     "prev": "sha256:..." | null, "iat": 1767225600,
     "markings": {"classification": "SECRET", "rel_to": ["au", "ca", "fvey"], "orcon": false,
                  "tlp": "amber"},
     "payload": {...},
     "signatures": {"uk": {"ed25519:uk-report-1a2b3c4d": "<b64url>"},
                    "ca": {"ed25519:ca-report-9f8e7d6c": "<b64url>"}},
     "unsigned": {"hops": [{"from": "uk", "to": "ca", "at": 1767225605}]}}

* Signed bytes = canonical JSON of the envelope minus ``signatures`` and ``unsigned`` (Matrix's
  "Signing JSON" rule). ``typ`` is signed, so a report signature can never pass for another
  message type; markings are signed, so no relay can widen or downgrade them.
* ``signatures`` maps node -> {kid: sig}, exactly one kid per node. The origin (``iss``) signs
  first; a relay adds its countersignature beside it over the same bytes ("I vouch for and
  forwarded exactly this") and never touches the origin's. ``unsigned.hops`` is informational.
* ``prev`` is the `signed_digest` of the previous version (null for version 1), which chains
  versions; `check_chain` applies TUF-style rollback and fast-forward rules against storage.
* Withdrawal is a ``fed.tombstone`` version (payload ``{"reason": ...}``) that federates like
  any other version.

Key validity times: the origin's key must be valid at the signed ``iat``. A countersignature's
time is not signed (it is made at relay time), so relay keys are checked as valid at ``now``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Final, Literal

from ._checks import as_int, as_object, as_str, exact_fields, fail
from .canonical import canonical_bytes, check_profile, digest_of_bytes
from .encoding import b64u_decode, b64u_encode
from .keys import KID_RE, NodeKey, PublicKey, check_node

ENVELOPE_VERSION: Final = 1
TYP_REPORT: Final = "fed.report"
TYP_TOMBSTONE: Final = "fed.tombstone"
TYPES: Final = frozenset({TYP_REPORT, TYP_TOMBSTONE})
CLASSIFICATIONS: Final = ("OFFICIAL", "RESTRICTED", "CONFIDENTIAL", "SECRET")
"""Ordered from lowest to highest; `Markings.level` is the index."""
TLP_COLOURS: Final = frozenset({"clear", "green", "amber", "amber+strict", "red"})
MAX_FUTURE_SKEW: Final = 30
MAX_HOPS: Final = 16
MAX_REL_TO: Final = 64
MAX_VERSION_JUMP: Final = 1000
"""A version more than this far ahead of the stored one is refused (fast-forward attack)."""

_BAD = "bad_envelope"
_SIGNED_FIELDS: Final = frozenset(
    {"v", "typ", "iss", "id", "ver", "prev", "iat", "markings", "payload"}
)
_ENVELOPE_FIELDS: Final = _SIGNED_FIELDS | {"signatures"}
_OPTIONAL_FIELDS: Final = frozenset({"unsigned"})
_MARKING_FIELDS: Final = frozenset({"classification", "rel_to", "orcon", "tlp"})
_HOP_FIELDS: Final = frozenset({"from", "to", "at"})
_UUID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIGEST_RE: Final = re.compile(r"sha256:[A-Za-z0-9_-]{43}")
_SIG_B64_LEN: Final = 86  # unpadded base64url of 64 bytes

ResolveReportKey = Callable[[str, str, int], PublicKey]
"""``resolve_key(node, kid, at_time)``: the key if valid at that time, else ProtocolError."""


@dataclass(frozen=True, slots=True)
class Markings:
    """Signed handling markings. ``rel_to`` is sorted and unique (canonical form)."""

    classification: str
    rel_to: tuple[str, ...]
    orcon: bool
    tlp: str

    def __post_init__(self) -> None:
        if type(self.classification) is not str or self.classification not in CLASSIFICATIONS:
            fail(_BAD, f"classification must be one of {list(CLASSIFICATIONS)}")
        rel = self.rel_to
        if type(rel) is not tuple or not 0 < len(rel) <= MAX_REL_TO:
            fail(_BAD, f"rel_to must list 1 to {MAX_REL_TO} node or group codes")
        for code in rel:
            check_node(code, "rel_to entry")
        if any(a >= b for a, b in pairwise(rel)):
            fail(_BAD, "rel_to must be sorted and unique")
        if type(self.orcon) is not bool:
            fail(_BAD, "orcon must be a boolean")
        if type(self.tlp) is not str or self.tlp not in TLP_COLOURS:
            fail(_BAD, f"tlp must be one of {sorted(TLP_COLOURS)}")

    @classmethod
    def of(cls, classification: str, rel_to: Iterable[str], orcon: bool, tlp: str) -> Markings:
        """Build markings from any iterable of codes (sorted and deduplicated here)."""
        return cls(classification, tuple(sorted(set(rel_to))), orcon, tlp)

    @classmethod
    def from_json(cls, value: object) -> Markings:
        obj = as_object(value, "markings", _BAD)
        exact_fields(obj, _MARKING_FIELDS, "markings", _BAD)
        rel = obj["rel_to"]
        if type(rel) is not list:
            fail(_BAD, "rel_to must be a list")
        return cls(obj["classification"], tuple(rel), obj["orcon"], obj["tlp"])

    def to_json(self) -> dict[str, Any]:
        return {
            "classification": self.classification,
            "rel_to": list(self.rel_to),
            "orcon": self.orcon,
            "tlp": self.tlp,
        }

    @property
    def level(self) -> int:
        return CLASSIFICATIONS.index(self.classification)


@dataclass(frozen=True, slots=True)
class VerifiedEnvelope:
    """What `verify_envelope` established. ``digest`` is the content address (signed bytes)."""

    typ: str
    iss: str
    id: str
    ver: int
    prev: str | None
    iat: int
    markings: Markings
    digest: str
    origin_kid: str
    relay_kids: Mapping[str, str]
    """Countersigning node -> kid, each verified."""
    envelope: Mapping[str, Any] = field(repr=False)

    @property
    def is_tombstone(self) -> bool:
        return self.typ == TYP_TOMBSTONE


# --------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------


def _signed_part(env: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in env.items() if k != "signatures" and k != "unsigned"}


def _check_signed_fields(env: Mapping[str, Any]) -> Markings:
    """Strict checks of every signed field except the payload's contents."""
    if env["v"] != ENVELOPE_VERSION or type(env["v"]) is not int:
        fail(_BAD, "unsupported envelope version")
    typ = env["typ"]
    if type(typ) is not str or typ not in TYPES:
        fail(_BAD, f"typ must be one of {sorted(TYPES)}")
    check_node(env["iss"], "iss")
    report_id = env["id"]
    if type(report_id) is not str or _UUID_RE.fullmatch(report_id) is None:
        fail(_BAD, "id must be a lower-case UUID string")
    ver = as_int(env["ver"], "ver", _BAD, minimum=1)
    prev = env["prev"]
    if ver == 1:
        if prev is not None:
            fail(_BAD, "version 1 has prev = null")
    elif type(prev) is not str or _DIGEST_RE.fullmatch(prev) is None:
        fail(_BAD, "prev must be the sha256: digest of the previous version")
    as_int(env["iat"], "iat", _BAD)
    markings = Markings.from_json(env["markings"])
    payload = as_object(env["payload"], "payload", _BAD)
    if typ == TYP_TOMBSTONE:
        if ver < 2:
            fail(_BAD, "a tombstone withdraws an existing version, so ver >= 2")
        exact_fields(payload, frozenset({"reason"}), "tombstone payload", _BAD)
        as_str(payload["reason"], "reason", _BAD, max_len=1000)
    return markings


def _check_unsigned(value: object) -> None:
    unsigned = as_object(value, "unsigned", _BAD)
    exact_fields(unsigned, frozenset({"hops"}), "unsigned", _BAD)
    hops = unsigned["hops"]
    if type(hops) is not list or len(hops) > MAX_HOPS:
        fail(_BAD, f"hops must be a list of at most {MAX_HOPS} entries")
    for raw in hops:
        hop = as_object(raw, "hop", _BAD)
        exact_fields(hop, _HOP_FIELDS, "hop", _BAD)
        check_node(hop["from"], "hop from")
        check_node(hop["to"], "hop to")
        as_int(hop["at"], "hop at", _BAD)


def _parse_signatures(value: object) -> dict[str, tuple[str, bytes]]:
    """node -> (kid, raw signature); exactly one well-formed signature per node."""
    out: dict[str, tuple[str, bytes]] = {}
    for node, per_node in as_object(value, "signatures", _BAD).items():
        check_node(node, "signing node")
        entries = as_object(per_node, "signatures of a node", _BAD)
        if len(entries) != 1:
            fail(_BAD, "exactly one signature per node")
        ((kid, sig_text),) = entries.items()
        if (
            type(kid) is not str
            or KID_RE.fullmatch(kid) is None
            or not kid.startswith(f"ed25519:{node}-report-")
        ):
            fail(_BAD, f"signature of {node} must be made with one of {node}'s report keys")
        if type(sig_text) is not str or len(sig_text) != _SIG_B64_LEN:
            fail(_BAD, "a signature is 64 bytes in unpadded base64url")
        out[node] = (kid, b64u_decode(sig_text, code=_BAD, what="signature"))
    return out


# --------------------------------------------------------------------------------------------
# Building and signing
# --------------------------------------------------------------------------------------------


def _coerce_markings(markings: Markings | Mapping[str, Any]) -> Markings:
    if isinstance(markings, Markings):
        return markings
    return Markings.of(
        markings["classification"], markings["rel_to"], markings["orcon"], markings["tlp"]
    )


def _build(
    typ: str,
    iss: str,
    report_id: str | uuid.UUID | None,
    ver: int,
    prev: str | None,
    iat: int,
    markings: Markings | Mapping[str, Any],
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "typ": typ,
        "iss": iss,
        "id": str(report_id if report_id is not None else uuid.uuid4()),
        "ver": ver,
        "prev": prev,
        "iat": iat,
        "markings": _coerce_markings(markings).to_json(),
        "payload": dict(payload),
        "signatures": {},
        "unsigned": {"hops": []},
    }
    _check_signed_fields(env)
    check_profile(env["payload"])
    return env


def build_report_envelope(
    *,
    iss: str,
    iat: int,
    markings: Markings | Mapping[str, Any],
    payload: Mapping[str, Any],
    report_id: str | uuid.UUID | None = None,
    ver: int = 1,
    prev: str | None = None,
) -> dict[str, Any]:
    """An unsigned ``fed.report`` envelope (a fresh UUID if `report_id` is None)."""
    return _build(TYP_REPORT, iss, report_id, ver, prev, iat, markings, payload)


def build_tombstone(
    *,
    iss: str,
    report_id: str | uuid.UUID,
    ver: int,
    prev: str,
    iat: int,
    markings: Markings | Mapping[str, Any],
    reason: str,
) -> dict[str, Any]:
    """An unsigned ``fed.tombstone`` withdrawing report `report_id` as version `ver`.

    Carry the withdrawn report's markings: the tombstone must reach exactly its recipients.
    """
    return _build(TYP_TOMBSTONE, iss, report_id, ver, prev, iat, markings, {"reason": reason})


def signing_bytes(env: Mapping[str, Any]) -> bytes:
    """Canonical bytes of the signed part (envelope minus ``signatures`` and ``unsigned``)."""
    return canonical_bytes(_signed_part(env))


def signed_digest(env: Mapping[str, Any]) -> str:
    """Content address of a version: ``sha256:`` of its signed bytes (used as ``prev``)."""
    return digest_of_bytes(signing_bytes(env))


def _with_signature(env: Mapping[str, Any], node: str, key: NodeKey) -> dict[str, Any]:
    signature = b64u_encode(key.sign(signing_bytes(env)))
    signatures = {n: dict(s) for n, s in as_object(env.get("signatures", {}), "sigs", _BAD).items()}
    signatures[node] = {key.kid: signature}
    out = dict(env)
    out["signatures"] = signatures
    out.setdefault("unsigned", {"hops": []})
    return out


def _check_report_key(key: NodeKey, node: str) -> None:
    if key.use != "report":
        fail("wrong_key_use", "envelopes are signed with a report key")
    if key.node != node:
        fail(_BAD, "signing key belongs to another node")


def sign_origin(env: Mapping[str, Any], key: NodeKey) -> dict[str, Any]:
    """A copy of `env` signed by its issuer's report key (the input is not modified)."""
    exact_fields(env, _ENVELOPE_FIELDS, "envelope", _BAD, optional=_OPTIONAL_FIELDS)
    _check_signed_fields(env)
    _check_report_key(key, env["iss"])
    return _with_signature(env, env["iss"], key)


def countersign(env: Mapping[str, Any], relay_node: str, key: NodeKey) -> dict[str, Any]:
    """A copy of `env` with `relay_node`'s countersignature added beside the origin's.

    The relay should have verified the envelope first (`verify_envelope`); this only refuses
    the obvious mistakes: countersigning as the origin, or an envelope the origin never signed.
    """
    exact_fields(env, _ENVELOPE_FIELDS, "envelope", _BAD, optional=_OPTIONAL_FIELDS)
    _check_signed_fields(env)
    check_node(relay_node, "relay node")
    if relay_node == env["iss"]:
        fail(_BAD, "the origin does not countersign its own envelope")
    if env["iss"] not in _parse_signatures(env["signatures"]):
        fail("missing_signature", "cannot countersign an envelope without its origin signature")
    _check_report_key(key, relay_node)
    return _with_signature(env, relay_node, key)


def add_hop(env: Mapping[str, Any], frm: str, to: str, at: int) -> dict[str, Any]:
    """A copy of `env` with a hop appended to ``unsigned.hops`` (not covered by signatures)."""
    check_node(frm, "hop from")
    check_node(to, "hop to")
    as_int(at, "hop at", _BAD)
    unsigned = env.get("unsigned", {"hops": []})
    _check_unsigned(unsigned)
    hops = [*unsigned["hops"], {"from": frm, "to": to, "at": at}]
    if len(hops) > MAX_HOPS:
        fail(_BAD, f"more than {MAX_HOPS} hops")
    out = dict(env)
    out["unsigned"] = {"hops": hops}
    return out


# --------------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------------


def _check_resolved(pub: PublicKey, node: str, kid: str) -> None:
    if pub.kid != kid or pub.use != "report" or pub.node != node:
        fail("wrong_key_use", f"resolver returned a key that is not {node}'s report key {kid}")


def verify_envelope(
    env: Mapping[str, Any],
    resolve_key: ResolveReportKey,
    now: int,
    max_future_skew: int = MAX_FUTURE_SKEW,
) -> VerifiedEnvelope:
    """Check structure, then the origin signature (key valid at ``iat``) and countersignatures.

    `env` should come from `strict_loads` of the received bytes. Every signature present must
    verify: a bad countersignature is an error, not something to skip.
    """
    env = as_object(env, "envelope", _BAD)
    exact_fields(env, _ENVELOPE_FIELDS, "envelope", _BAD, optional=_OPTIONAL_FIELDS)
    markings = _check_signed_fields(env)
    if "unsigned" in env:
        _check_unsigned(env["unsigned"])
    signatures = _parse_signatures(env["signatures"])
    iss: str = env["iss"]
    if iss not in signatures:
        fail("missing_signature", "the origin's signature is missing")
    iat: int = env["iat"]
    if iat > now + max_future_skew:
        fail("not_yet_valid", "iat is in the future")

    message = signing_bytes(env)  # also enforces the canonical profile on the payload
    origin_kid, origin_sig = signatures[iss]
    origin_key = resolve_key(iss, origin_kid, iat)
    _check_resolved(origin_key, iss, origin_kid)
    if not origin_key.verify(origin_sig, message):
        fail("bad_signature", f"origin signature by {origin_kid} does not verify")

    relay_kids: dict[str, str] = {}
    for node, (kid, sig) in signatures.items():
        if node == iss:
            continue
        relay_key = resolve_key(node, kid, now)
        _check_resolved(relay_key, node, kid)
        if not relay_key.verify(sig, message):
            fail("bad_signature", f"countersignature by {kid} does not verify")
        relay_kids[node] = kid

    return VerifiedEnvelope(
        typ=env["typ"],
        iss=iss,
        id=env["id"],
        ver=env["ver"],
        prev=env["prev"],
        iat=iat,
        markings=markings,
        digest=digest_of_bytes(message),
        origin_kid=origin_kid,
        relay_kids=MappingProxyType(relay_kids),
        envelope=env,
    )


def check_chain(
    new_env: VerifiedEnvelope | Mapping[str, Any],
    stored_ver: int | None,
    stored_digest: str | None,
) -> Literal["new", "duplicate"]:
    """Compare a verified version with what is stored for the same (iss, id).

    Returns ``"new"`` (store it) or ``"duplicate"`` (same version, same bytes: acknowledge,
    do nothing). Refuses ``stale_version`` (older than stored), ``conflict`` (same version,
    other content: equivocation by the origin), ``prev_mismatch`` (the next version does not
    chain to the stored one) and ``version_gap`` (more than `MAX_VERSION_JUMP` ahead). A gap
    below that is accepted: the receiver may have missed versions it was not entitled to.
    """
    if isinstance(new_env, VerifiedEnvelope):
        ver, prev, digest = new_env.ver, new_env.prev, new_env.digest
    else:
        ver, prev, digest = new_env["ver"], new_env["prev"], signed_digest(new_env)
    if (stored_ver is None) != (stored_digest is None):
        raise ValueError("stored_ver and stored_digest are both set or both None")
    base = stored_ver if stored_ver is not None else 0
    if ver > base + MAX_VERSION_JUMP:
        fail("version_gap", f"version {ver} jumps more than {MAX_VERSION_JUMP} past {base}")
    if stored_ver is None:
        return "new"
    if ver < stored_ver:
        fail("stale_version", f"version {ver} is older than stored {stored_ver}")
    if ver == stored_ver:
        if digest == stored_digest:
            return "duplicate"
        fail("conflict", f"a different version {ver} is already stored")
    if ver == stored_ver + 1 and prev != stored_digest:
        fail("prev_mismatch", f"version {ver} does not follow the stored version {stored_ver}")
    return "new"
