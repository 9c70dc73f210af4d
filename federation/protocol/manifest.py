"""Signed key manifests (``typ: fed.keys``): how a node publishes, rotates and revokes keys.

Modelled on Matrix's ``/_matrix/key/v2/server`` (current keys, old keys with an expiry time)
plus what Matrix lacks: explicit revocation, a monotonic version (TUF's rollback rule) and
pinning of the node's root key out of band.

Shape (everything except ``signatures`` is signed, over its canonical JSON)::

    {"typ": "fed.keys", "v": 1, "node": "uk", "version": 7,
     "issued_at": 1767225600, "valid_until": 1767830400,
     "keys":     {kid: {"alg": "ed25519", "key": b64url, "use": "root|report|request",
                        "not_before": t}},
     "old_keys": {kid: {"alg": "ed25519", "key": b64url, "use": ..., "expired_at": t}},
     "revoked":  {kid: {"revoked_at": t, "reason": "..."}},
     "signatures": {"uk": {root_kid: b64url-sig}}}

Rules enforced by `verify_manifest`:

* at least one signature by a ``use=root`` key listed in ``keys`` whose fingerprint is pinned
  verifies; signatures by unpinned roots are ignored, a failing one by a pinned root is refused;
* ``valid_until`` is capped at ``issued_at + 7 days`` (Matrix's cap) and an expired manifest is
  refused; ``issued_at`` may not be in the future beyond `MAX_CLOCK_SKEW`;
* against the cached ``previous`` manifest: a lower version is a rollback, the same version with
  other content is an equivocation (``manifest_conflict``), and a kid revoked before may never
  come back as a current or old key.

Signing happens offline: the key ceremony (`federation.protocol.ceremony`) signs a series of
manifests ahead of time, one per validity window; the node serves the one whose window is open
and never holds the root.

Root rotation, kept simple: partners pin a *set* of root fingerprints out of band. To rotate,
the node's custodians first get the new root's fingerprint pinned by every partner, then run a
ceremony with the new root (infra/KEYS.md); an unpinned root can never authorise a manifest. No
TUF threshold chain in v1.

Key validity (`ManifestView.key_for`): a current key is valid for signatures made at or after
its ``not_before``; an old key for signatures made before its ``expired_at`` (old reports stay
verifiable after rotation); a revoked key is never valid, whatever the signing time (a
compromised key can backdate ``iat``); an unlisted kid is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from ._checks import as_int, as_object, as_str, exact_fields, fail
from .canonical import DEFAULT_LIMITS, Limits, canonical_bytes, digest_of_bytes, strict_loads
from .encoding import b64u_decode, b64u_encode
from .keys import ALG, KID_RE, NodeKey, PublicKey, check_node, normalize_fingerprint

MANIFEST_TYP: Final = "fed.keys"
MAX_VALIDITY: Final = 7 * 24 * 3600
"""A manifest is trusted for at most 7 days after issue (freeze attacks, forgotten revocations)."""
MAX_CLOCK_SKEW: Final = 30

_BAD = "bad_manifest"
_TOP_FIELDS: Final = frozenset(
    {"typ", "v", "node", "version", "issued_at", "valid_until", "keys", "old_keys", "revoked"}
)
_KEY_FIELDS: Final = frozenset({"alg", "key", "use", "not_before"})
_OLD_KEY_FIELDS: Final = frozenset({"alg", "key", "use", "expired_at"})
_REVOKED_FIELDS: Final = frozenset({"revoked_at", "reason"})


@dataclass(frozen=True, slots=True)
class CurrentKey:
    public: PublicKey
    not_before: int


@dataclass(frozen=True, slots=True)
class OldKey:
    public: PublicKey
    expired_at: int


@dataclass(frozen=True, slots=True)
class Revocation:
    kid: str
    revoked_at: int
    reason: str


@dataclass(frozen=True)
class Manifest:
    """A verified manifest. ``body`` is the full signed JSON object, kept for storage/mirroring."""

    node: str
    version: int
    issued_at: int
    valid_until: int
    """Effective expiry: the lesser of the signed value and ``issued_at + MAX_VALIDITY``."""
    keys: Mapping[str, CurrentKey]
    old_keys: Mapping[str, OldKey]
    revoked: Mapping[str, Revocation]
    signed_by: str
    """Kid of the pinned root key whose signature was verified."""
    digest: str
    """``sha256:`` digest of the signed bytes: equal digests mean equal manifests."""
    body: Mapping[str, Any] = field(repr=False)


# --------------------------------------------------------------------------------------------
# Building and signing (the publishing node)
# --------------------------------------------------------------------------------------------


def build_manifest(
    *,
    node: str,
    version: int,
    issued_at: int,
    valid_until: int,
    keys: Iterable[CurrentKey],
    old_keys: Iterable[OldKey] = (),
    revoked: Iterable[Revocation] = (),
) -> dict[str, Any]:
    """The unsigned manifest object; sign it with `sign_manifest` and the node's root key."""
    body: dict[str, Any] = {
        "typ": MANIFEST_TYP,
        "v": 1,
        "node": node,
        "version": version,
        "issued_at": issued_at,
        "valid_until": valid_until,
        "keys": {
            k.public.kid: {
                "alg": ALG,
                "key": k.public.b64,
                "use": k.public.use,
                "not_before": k.not_before,
            }
            for k in keys
        },
        "old_keys": {
            k.public.kid: {
                "alg": ALG,
                "key": k.public.b64,
                "use": k.public.use,
                "expired_at": k.expired_at,
            }
            for k in old_keys
        },
        "revoked": {r.kid: {"revoked_at": r.revoked_at, "reason": r.reason} for r in revoked},
    }
    _parse_body(body)  # the builder refuses what a verifier would refuse
    if valid_until > issued_at + MAX_VALIDITY:
        fail(_BAD, "valid_until may be at most 7 days after issued_at")
    return body


def _signed_part(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k != "signatures"}


def sign_manifest(manifest: Mapping[str, Any], root_key: NodeKey) -> dict[str, Any]:
    """Return a copy of `manifest` with `root_key`'s signature added beside any existing one."""
    if root_key.use != "root":
        fail("wrong_key_use", "manifests are signed with a root key")
    if manifest.get("node") != root_key.node:
        fail(_BAD, "root key belongs to another node")
    entry = as_object(manifest.get("keys"), "keys", _BAD).get(root_key.kid)
    if not isinstance(entry, Mapping) or entry.get("key") != root_key.public.b64:
        fail(_BAD, "the signing root key must be listed in the manifest's keys")
    signed = _signed_part(manifest)
    signature = b64u_encode(root_key.sign(canonical_bytes(signed)))
    existing = manifest.get("signatures") or {}
    node_sigs = dict(as_object(existing, "signatures", _BAD).get(root_key.node) or {})
    node_sigs[root_key.kid] = signature
    return {**signed, "signatures": {root_key.node: node_sigs}}


# --------------------------------------------------------------------------------------------
# Parsing and verifying (every partner, and mirrors)
# --------------------------------------------------------------------------------------------


def _public(kid: object, entry: Mapping[str, Any], node: str) -> PublicKey:
    if type(kid) is not str or KID_RE.fullmatch(kid) is None:
        fail(_BAD, "key ids must look like ed25519:<node>-<use>-<8 hex>")
    if entry["alg"] != ALG:
        fail(_BAD, f"unsupported algorithm for {kid}")
    use = as_str(entry["use"], "use", _BAD)
    pub = PublicKey.from_b64(kid, use, as_str(entry["key"], "key", _BAD, max_len=64))
    if pub.node != node or not pub.kid_matches_key():
        fail(_BAD, f"key id {kid} does not match its key, use and node")
    return pub


def _parse_body(
    obj: Mapping[str, Any],
) -> tuple[dict[str, CurrentKey], dict[str, OldKey], dict[str, Revocation]]:
    exact_fields(obj, _TOP_FIELDS, "manifest", _BAD)
    if obj["typ"] != MANIFEST_TYP or obj["v"] != 1 or type(obj["v"]) is not int:
        fail(_BAD, "not a fed.keys v1 manifest")
    node = check_node(obj["node"], code=_BAD)
    as_int(obj["version"], "version", _BAD, minimum=1)
    issued_at = as_int(obj["issued_at"], "issued_at", _BAD)
    valid_until = as_int(obj["valid_until"], "valid_until", _BAD)
    if valid_until <= issued_at:
        fail(_BAD, "valid_until must be after issued_at")

    keys: dict[str, CurrentKey] = {}
    for kid, raw in as_object(obj["keys"], "keys", _BAD).items():
        entry = as_object(raw, "key entry", _BAD)
        exact_fields(entry, _KEY_FIELDS, "key entry", _BAD)
        pub = _public(kid, entry, node)
        keys[kid] = CurrentKey(pub, as_int(entry["not_before"], "not_before", _BAD))
    old: dict[str, OldKey] = {}
    for kid, raw in as_object(obj["old_keys"], "old_keys", _BAD).items():
        entry = as_object(raw, "old key entry", _BAD)
        exact_fields(entry, _OLD_KEY_FIELDS, "old key entry", _BAD)
        pub = _public(kid, entry, node)
        old[kid] = OldKey(pub, as_int(entry["expired_at"], "expired_at", _BAD))
    revoked: dict[str, Revocation] = {}
    for kid, raw in as_object(obj["revoked"], "revoked", _BAD).items():
        if type(kid) is not str or KID_RE.fullmatch(kid) is None:
            fail(_BAD, "revoked key ids must look like ed25519:<node>-<use>-<8 hex>")
        if not kid.startswith(f"ed25519:{node}-"):
            fail(_BAD, f"revoked key {kid} belongs to another node")
        entry = as_object(raw, "revocation", _BAD)
        exact_fields(entry, _REVOKED_FIELDS, "revocation", _BAD)
        revoked[kid] = Revocation(
            kid,
            as_int(entry["revoked_at"], "revoked_at", _BAD),
            as_str(entry["reason"], "reason", _BAD, max_len=1000),
        )
    if keys.keys() & old.keys() or keys.keys() & revoked.keys() or old.keys() & revoked.keys():
        fail(_BAD, "a key id may appear in only one of keys, old_keys and revoked")
    if not any(k.public.use == "root" for k in keys.values()):
        fail(_BAD, "a manifest lists at least one current root key")
    return keys, old, revoked


def verify_manifest(
    raw_or_obj: bytes | bytearray | memoryview | Mapping[str, Any],
    pinned_root_fingerprints: Set[str],
    previous: Manifest | None,
    now: int,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> Manifest:
    """Verify a fetched manifest (raw bytes or a parsed object) against pins and the cache.

    `previous` is the last manifest accepted for this node (None on first contact). Returns the
    new `Manifest`, to be cached in place of `previous`.
    """
    parsed = (
        strict_loads(raw_or_obj, limits)
        if isinstance(raw_or_obj, bytes | bytearray | memoryview)
        else raw_or_obj
    )
    obj = as_object(parsed, "manifest", _BAD)
    if "signatures" not in obj:
        fail("missing_signature", "manifest is not signed")
    signatures = as_object(obj["signatures"], "signatures", _BAD)
    signed = _signed_part(obj)
    keys, old, revoked = _parse_body(signed)
    node: str = signed["node"]
    if signatures.keys() != {node}:
        fail(_BAD, "a manifest carries signatures of its own node only")
    node_sigs = as_object(signatures[node], "signatures", _BAD)

    pins = {normalize_fingerprint(fp) for fp in pinned_root_fingerprints}
    message = canonical_bytes(signed)
    signed_by: str | None = None
    saw_unpinned = False
    for kid, sig_text in node_sigs.items():
        current = keys.get(kid)
        if current is None or current.public.use != "root":
            if kid in revoked:
                fail("revoked_key", "manifest signed by a revoked root key")
            saw_unpinned = True  # unknown signer: cannot count, must not block
            continue
        if current.public.fingerprint not in pins:
            saw_unpinned = True
            continue
        sig = b64u_decode(as_str(sig_text, "signature", _BAD), code=_BAD, what="signature")
        if not current.public.verify(sig, message):
            fail("bad_signature", f"root signature by {kid} does not verify")
        signed_by = kid
    if signed_by is None:
        if not saw_unpinned:
            fail("missing_signature", "manifest carries no root signature")
        fail("unpinned_root", "no signature by a pinned root key")

    issued_at: int = signed["issued_at"]
    if issued_at > now + MAX_CLOCK_SKEW:
        fail("not_yet_valid", "manifest issued in the future")
    valid_until = min(signed["valid_until"], issued_at + MAX_VALIDITY)
    if now >= valid_until:
        fail("expired", "manifest has expired")

    digest = digest_of_bytes(message)
    version: int = signed["version"]
    if previous is not None:
        if previous.node != node:
            fail(_BAD, "manifest is for another node than the cached one")
        if version < previous.version:
            fail("rollback", f"version {version} is older than cached {previous.version}")
        if version == previous.version and digest != previous.digest:
            fail("manifest_conflict", f"two different manifests claim version {version}")
        back = previous.revoked.keys() & (keys.keys() | old.keys())
        if back:
            fail("rollback", f"revoked key {sorted(back)[0]} is listed again")

    return Manifest(
        node=node,
        version=version,
        issued_at=issued_at,
        valid_until=valid_until,
        keys=MappingProxyType(keys),
        old_keys=MappingProxyType(old),
        revoked=MappingProxyType(revoked),
        signed_by=signed_by,
        digest=digest,
        body=MappingProxyType(dict(obj)),
    )


# --------------------------------------------------------------------------------------------
# Answering "which key, valid when?"
# --------------------------------------------------------------------------------------------


class ManifestView:
    """Key look-ups over one verified manifest.

    It does not re-check the manifest's own expiry: the caller decides what a stale manifest
    means (the design freezes acceptance of *new* reports from that node and alerts).
    """

    __slots__ = ("manifest",)

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    @property
    def node(self) -> str:
        return self.manifest.node

    def key_for(self, kid: str, use: str, at_time: int) -> PublicKey:
        """The public key `kid` if it may verify a `use` signature made at `at_time`."""
        m = self.manifest
        if kid in m.revoked:
            fail("revoked_key", f"key {kid} is revoked")
        current = m.keys.get(kid)
        if current is not None:
            if current.public.use != use:
                fail("wrong_key_use", f"key {kid} is a {current.public.use} key, not {use}")
            if at_time < current.not_before:
                fail("not_yet_valid", f"key {kid} is not valid before {current.not_before}")
            return current.public
        old = m.old_keys.get(kid)
        if old is not None:
            if old.public.use != use:
                fail("wrong_key_use", f"key {kid} is a {old.public.use} key, not {use}")
            if at_time >= old.expired_at:
                fail("expired", f"key {kid} expired at {old.expired_at}")
            return old.public
        fail("unknown_key", f"key {kid} is not in {m.node}'s manifest v{m.version}")


def report_key_resolver(
    views: Mapping[str, ManifestView],
) -> Callable[[str, str, int], PublicKey]:
    """A ``resolve_key(node, kid, at_time)`` for `verify_envelope`, over cached manifests."""

    def resolve(node: str, kid: str, at_time: int) -> PublicKey:
        view = views.get(node)
        if view is None:
            fail("unknown_key", f"no manifest for node {node[:16]!r}")
        return view.key_for(kid, "report", at_time)

    return resolve


def request_key_resolver(
    views: Mapping[str, ManifestView], now: int
) -> Callable[[str, str], PublicKey]:
    """A ``resolve_key(node, kid)`` for `verify_request`: request keys valid at `now`."""

    def resolve(node: str, kid: str) -> PublicKey:
        view = views.get(node)
        if view is None:
            fail("unknown_key", f"no manifest for node {node[:16]!r}")
        return view.key_for(kid, "request", now)

    return resolve
