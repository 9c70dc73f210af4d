"""Ed25519 node keys: generation, key ids, fingerprints and (de)serialisation.

A node holds separate keys per use (the damage of a leaked web-tier key stays limited):

* ``root``: signs the node's key manifests, nothing else; partners pin its fingerprint. It is
  kept off the online hosts, in a passphrase-encrypted PKCS#8 file (`NodeKey.to_pem` with a
  password: BestAvailableEncryption), and used only by the key ceremony
  (`federation.protocol.ceremony`), which signs a series of manifests ahead of time;
* ``report``: signs report envelopes, countersignatures and audit-log heads;
* ``request``: signs RFC 9421 node-to-node HTTP requests.

The online keys (report, request) are stored by the node as unencrypted PKCS#8 PEM files in
its data directory, created with mode 0600 (`federation.keystore`); their protection is the
host's. Key ids are derived from the key itself, ``ed25519:<node>-<use>-<first 8 hex of
fingerprint>``, so a kid cannot silently change its key between manifest versions, and the
``ed25519:`` prefix leaves room for another algorithm later (a new key type, not a format
change).

Private material never appears in ``repr``/``str``, and `NodeKey` refuses to be pickled: it must
be stored deliberately (`NodeKey.to_pem`), never by accident through a cache or a task queue.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Final, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .encoding import b64u_decode, b64u_encode
from .errors import ProtocolError

ALG: Final = "ed25519"
USES: Final = frozenset({"root", "report", "request"})
NODE_RE: Final = re.compile(r"[a-z]{2,8}")
"""Node codes (``us``, ``uk``...) and group codes (``fvey``): 2 to 8 lower-case letters."""
KID_RE: Final = re.compile(r"ed25519:([a-z]{2,8})-(root|report|request)-([0-9a-f]{8})")
SIGNATURE_LEN: Final = 64
PUBLIC_KEY_LEN: Final = 32


def check_node(node: object, what: str = "node code", code: str = "bad_envelope") -> str:
    """Return `node` if it is a valid node code, else raise ProtocolError(`code`)."""
    if type(node) is not str or NODE_RE.fullmatch(node) is None:
        raise ProtocolError(code, f"{what} must match ^[a-z]{{2,8}}$")
    return node


def check_use(use: str) -> str:
    if type(use) is not str or use not in USES:
        raise ProtocolError("wrong_key_use", f"key use must be one of {sorted(USES)}")
    return use


def fingerprint(raw_public_key: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, lower-case hex (64 chars): what partners pin."""
    return hashlib.sha256(raw_public_key).hexdigest()


def format_fingerprint(fp: str) -> str:
    """Groups of 4 hex chars for reading aloud in a key ceremony: ``ab12 cd34 ...``."""
    fp = normalize_fingerprint(fp)
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def normalize_fingerprint(text: str) -> str:
    """Accept a fingerprint typed by a human (spaces, colons, upper case); return 64 hex."""
    fp = re.sub(r"[\s:]", "", text).lower()
    if re.fullmatch(r"[0-9a-f]{64}", fp) is None:
        raise ProtocolError("bad_key", "a fingerprint is 64 hex characters (SHA-256)")
    return fp


def derive_kid(node: str, use: str, raw_public_key: bytes) -> str:
    """``ed25519:<node>-<use>-<8 hex of fingerprint>``."""
    check_node(node, code="bad_key")
    check_use(use)
    return f"{ALG}:{node}-{use}-{fingerprint(raw_public_key)[:8]}"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verification key as published in a manifest: kid, use and the raw 32 bytes."""

    kid: str
    use: str
    raw: bytes = field(repr=False)
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        check_use(self.use)
        if KID_RE.fullmatch(self.kid) is None:
            raise ProtocolError("bad_key", "key id must look like ed25519:<node>-<use>-<8 hex>")
        if type(self.raw) is not bytes or len(self.raw) != PUBLIC_KEY_LEN:
            raise ProtocolError("bad_key", "an Ed25519 public key is 32 bytes")
        try:
            key = Ed25519PublicKey.from_public_bytes(self.raw)
        except ValueError as exc:
            raise ProtocolError("bad_key", "not a valid Ed25519 public key") from exc
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_b64(cls, kid: str, use: str, key_b64: str) -> PublicKey:
        return cls(kid, use, b64u_decode(key_b64, code="bad_key", what="public key"))

    @property
    def node(self) -> str:
        """Node code embedded in the kid."""
        match = KID_RE.fullmatch(self.kid)
        assert match is not None  # checked in __post_init__
        return match.group(1)

    @property
    def b64(self) -> str:
        return b64u_encode(self.raw)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    @property
    def human_fingerprint(self) -> str:
        return format_fingerprint(self.fingerprint)

    def kid_matches_key(self) -> bool:
        """Whether the kid is the one derived from this key (manifests require it)."""
        match = KID_RE.fullmatch(self.kid)
        return match is not None and self.kid == derive_kid(match.group(1), self.use, self.raw)

    def to_cryptography(self) -> Ed25519PublicKey:
        """The `cryptography` key object (for libraries that take one)."""
        return self._key

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True if `signature` is a valid Ed25519 signature of `message` by this key."""
        if len(signature) != SIGNATURE_LEN:
            return False
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class NodeKey:
    """A private Ed25519 key of one node for one use. Never printed, never pickled."""

    __slots__ = ("_private", "kid", "node", "public", "use")

    _private: Ed25519PrivateKey
    node: str
    use: str
    kid: str
    public: PublicKey

    def __init__(self, private_key: Ed25519PrivateKey, node: str, use: str) -> None:
        if not isinstance(private_key, Ed25519PrivateKey):
            raise ProtocolError("bad_key", "node keys are Ed25519")
        check_node(node, code="bad_key")
        check_use(use)
        raw = private_key.public_key().public_bytes_raw()
        self._private = private_key
        self.node = node
        self.use = use
        self.kid = derive_kid(node, use, raw)
        self.public = PublicKey(self.kid, use, raw)

    def sign(self, message: bytes) -> bytes:
        """Raw 64-byte Ed25519 signature (deterministic: no RNG at signing time)."""
        return self._private.sign(message)

    # --- serialisation for storage (the Django side encrypts these at rest) -----------------

    def private_bytes_raw(self) -> bytes:
        """The 32-byte seed. Handle as a secret."""
        return self._private.private_bytes_raw()

    def to_pem(self, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with `password` if given. Handle as a secret."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_private_bytes(cls, raw: bytes, node: str, use: str) -> NodeKey:
        try:
            private = Ed25519PrivateKey.from_private_bytes(raw)
        except ValueError:
            raise ProtocolError("bad_key", "not a 32-byte Ed25519 private key") from None
        return cls(private, node, use)

    @classmethod
    def from_pem(cls, pem: bytes, node: str, use: str, password: bytes | None = None) -> NodeKey:
        try:
            private = serialization.load_pem_private_key(pem, password=password)
        except (ValueError, TypeError):
            # The library's message may quote the input: do not chain it into our reason.
            raise ProtocolError("bad_key", "cannot load the PEM private key") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ProtocolError("bad_key", "PEM key is not an Ed25519 private key")
        return cls(private, node, use)

    # --- safety ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"NodeKey(kid={self.kid!r}, use={self.use!r}, node={self.node!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("NodeKey is not picklable: store it with to_pem() and encrypt at rest")

    def __copy__(self) -> NodeKey:
        return self

    def __deepcopy__(self, memo: object) -> NodeKey:
        return self


def generate(node: str, use: str) -> NodeKey:
    """A fresh Ed25519 key for `node` and `use` (root, report or request)."""
    return NodeKey(Ed25519PrivateKey.generate(), node, use)
