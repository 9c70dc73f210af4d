"""RFC 9421 HTTP Message Signatures (Ed25519) with RFC 9530 Content-Digest, node to node.

Profile (label ``fed``)::

    Content-Digest: sha-256=:<base64 of sha256(body)>:
    Signature-Input: fed=("@method" "@authority" "@target-uri" "content-type" "content-digest")
        ;created=<t>;keyid="<node>/<kid>";alg="ed25519";expires=<t+60>;nonce="<128-bit b64url>"
        ;tag="fed-v1"
    Signature: fed=:<base64 of the Ed25519 signature>:

Signature-base construction and the Ed25519 check are delegated to the pinned
``http-message-signatures`` 3.0 package (via its ``prepare``/``apply`` split, so the private key
never leaves `NodeKey`). This module adds what the package leaves to the caller: an injected
clock, our fixed component set, tag, algorithm and keyid form, a mandatory nonce with replay
detection, the ``@authority`` binding to our own public name, and specific refusal codes. Cheap
checks run first; the nonce is only stored once the signature has verified, so forged requests
cannot burn nonces.

Clock-skew window (NTP is required on every node): a request is accepted while

    created - max_skew <= now <= min(created + max_age, expires) + max_skew

with ``max_skew = 30 s`` and ``max_age = 300 s`` by default; senders set ``expires = created +
60``. A nonce is remembered exactly until the request could no longer be accepted anyway
(at most ``max_age + 2 * max_skew``), keyed per keyid, so a replay inside the window is refused
and a replay after it fails on time.

URLs are normalised the same way on both sides (`normalize_url`: lower-case scheme and host,
default port dropped, empty path as ``/``, no fragment): build the verifier's URL from the
node's configured public origin plus the request's full path, never from ``Host`` or
``X-Forwarded-*``. Pass the raw body bytes (``request.body``), before any parsing.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn, Protocol
from urllib.parse import urlsplit

import http_sf
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)

from .encoding import b64u_encode
from .errors import ProtocolError
from .keys import KID_RE, NODE_RE, NodeKey, PublicKey

LABEL: Final = "fed"
TAG: Final = "fed-v1"
ALG: Final = "ed25519"
SIGNED_COMPONENTS: Final = ("@method", "@authority", "@target-uri", "content-type")
COVERED_COMPONENTS: Final = (*SIGNED_COMPONENTS, "content-digest")
EXPIRES_IN: Final = 60
MAX_AGE: Final = 300
MAX_SKEW: Final = 30
NONCE_BYTES: Final = 16
NONCE_KEY_PREFIX: Final = "fed:nonce:"
"""A key-value store keys a nonce as ``fed:nonce:<keyid>:<nonce>`` (see `nonce_key`)."""

_NONCE_RE: Final = re.compile(r"[A-Za-z0-9_-]{22,128}")
_ALLOWED_PARAMS: Final = frozenset({"created", "expires", "keyid", "alg", "nonce", "tag"})
_REQUIRED_HEADERS: Final = ("signature-input", "signature", "content-digest", "content-type")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}

ResolveRequestKey = Callable[[str, str], PublicKey]
"""``resolve_key(node, kid)``: the node's request key if currently valid, else ProtocolError."""


def _refuse(code: str, reason: str) -> NoReturn:
    raise ProtocolError(code, reason)


# --------------------------------------------------------------------------------------------
# Replay protection
# --------------------------------------------------------------------------------------------


class NonceStore(Protocol):
    """Remembers nonces per keyid. Must be atomic across processes and survive restarts (the
    node's: a unique-key INSERT in PostgreSQL, `federation.noncestore.DatabaseNonceStore`)."""

    def check_and_store(self, keyid: str, nonce: str, ttl_seconds: int) -> bool:
        """Store the nonce for `ttl_seconds`; False if it was already there (a replay)."""
        ...


def nonce_key(keyid: str, nonce: str) -> str:
    """The cache key a shared store should use for (keyid, nonce)."""
    return f"{NONCE_KEY_PREFIX}{keyid}:{nonce}"


class MemoryNonceStore:
    """In-process `NonceStore` for unit tests and single-process tools (not shared by workers)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._purge_at = 1024

    def check_and_store(self, keyid: str, nonce: str, ttl_seconds: int) -> bool:
        now = self._clock()
        key = nonce_key(keyid, nonce)
        with self._lock:
            expiry = self._seen.get(key)
            if expiry is not None and expiry > now:
                return False
            self._seen[key] = now + ttl_seconds
            if len(self._seen) >= self._purge_at:
                self._seen = {k: t for k, t in self._seen.items() if t > now}
                self._purge_at = max(1024, 2 * len(self._seen))
            return True

    def __len__(self) -> int:
        return len(self._seen)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """Who signed a verified request, and its signed creation time and nonce."""

    node: str
    kid: str
    created: int
    nonce: str


@dataclass(slots=True)
class _Message:
    """The request shape the library reads: uppercase method, absolute URL, headers."""

    method: str
    url: str
    headers: dict[str, str]


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` value (sha-256) of the body as transferred."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def _split_authority(scheme: str, netloc: str) -> str:
    parts = urlsplit(f"{scheme}://{netloc}")
    if parts.username is not None or parts.password is not None:
        _refuse("bad_url", "URLs must not carry credentials")
    host = parts.hostname
    if not host:
        _refuse("bad_url", "URL has no host")
    try:
        port = parts.port
    except ValueError:
        _refuse("bad_url", "URL has an invalid port")
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return host
    return f"{host}:{port}"


def normalize_url(url: str) -> str:
    """Canonical spelling of an absolute http(s) URL, identical on sender and receiver."""
    try:
        parts = urlsplit(url)
    except ValueError:
        _refuse("bad_url", "URL cannot be parsed")
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        _refuse("bad_url", "URL scheme must be https (or http in tests)")
    authority = _split_authority(scheme, parts.netloc)
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{authority}{parts.path or '/'}{query}"


def authority_of(url: str) -> str:
    """The ``@authority`` value of a normalised URL."""
    parts = urlsplit(url)
    return _split_authority(parts.scheme.lower(), parts.netloc)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        low = name.lower()
        if low in lowered:
            _refuse("bad_signature_input", f"header {low} appears twice")
        lowered[low] = value
    return lowered


def _created(now: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(now), tz=datetime.UTC)


# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------

_SIGNER = HTTPMessageSigner(signature_algorithm=algorithms.ED25519)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    key: NodeKey,
    node: str,
    now: float,
) -> dict[str, str]:
    """Headers to add to an outgoing request: ``Content-Digest``, ``Signature-Input``,
    ``Signature``. `headers` must contain the ``Content-Type`` that will be sent; `url` is
    signed in its `normalize_url` form."""
    if key.use != "request":
        _refuse("wrong_key_use", "requests are signed with a request key")
    if key.node != node:
        _refuse("bad_key", "signing key belongs to another node")
    lowered = _lower_headers(headers)
    if "content-type" not in lowered:
        _refuse("missing_header", "Content-Type is signed, so it must be set")
    message = _Message(
        method.upper(), normalize_url(url), {"content-type": lowered["content-type"]}
    )
    created = _created(now)
    try:
        prepared = _SIGNER.prepare(
            message,
            key_id=f"{node}/{key.kid}",
            created=created,
            expires=created + datetime.timedelta(seconds=EXPIRES_IN),
            nonce=b64u_encode(os.urandom(NONCE_BYTES)),
            label=LABEL,
            tag=TAG,
            covered_component_ids=SIGNED_COMPONENTS,
            body=body,
        )
        _SIGNER.apply(message, prepared, key.sign(prepared.signature_base))
    except HTTPMessageSignaturesException as exc:
        _refuse("bad_signature_input", f"cannot sign this request: {exc}")
    return {
        "Content-Digest": message.headers["Content-Digest"],
        "Signature-Input": message.headers["Signature-Input"],
        "Signature": message.headers["Signature"],
    }


# --------------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------------


class _OneKey(HTTPSignatureKeyResolver):
    """Answers for the single keyid already resolved through the manifest."""

    def __init__(self, keyid: str, key: PublicKey) -> None:
        self._keyid = keyid
        self._key = key

    def resolve_public_key(self, key_id: str) -> Any:
        return self._key.to_cryptography() if key_id == self._keyid else None

    def resolve_private_key(self, key_id: str) -> Any:
        raise KeyError(key_id)


class _Verifier(HTTPMessageVerifier):
    """The library verifier minus its wall-clock checks: `verify_request` has already applied
    the time window with the injected clock, before any crypto."""

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


def _parse_dictionary(value: str, code: str, what: str) -> dict[str, Any]:
    """An RFC 8941 Dictionary as ``{key: (value, params)}``, or ProtocolError(`code`)."""
    try:
        parsed: Any = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError):
        _refuse(code, f"{what} is not a structured-field dictionary")
    if not isinstance(parsed, dict):
        _refuse(code, f"{what} is not a structured-field dictionary")
    return parsed


def _signature_params(value: str) -> tuple[list[str], dict[str, Any]]:
    """Covered component names and parameters of our label in Signature-Input."""
    parsed = _parse_dictionary(value, "bad_signature_input", "Signature-Input")
    if LABEL not in parsed:
        _refuse("missing_signature", f'no "{LABEL}" signature on the request')
    member, params = parsed[LABEL]
    if not isinstance(member, list):
        _refuse("bad_signature_input", "the signature input must be an inner list")
    names: list[str] = []
    for item in member:
        name, item_params = item
        if not isinstance(name, str) or item_params:
            _refuse("bad_signature_input", "covered components are plain strings")
        names.append(name)
    if len(set(names)) != len(names):
        _refuse("bad_signature_input", "a component is covered twice")
    return names, dict(params)


def _check_content_digest(value: str, body: bytes) -> None:
    parsed = _parse_dictionary(value, "digest_mismatch", "Content-Digest")
    if "sha-256" not in parsed:
        _refuse("digest_mismatch", "Content-Digest has no sha-256 member")
    for algorithm, (digest, _) in parsed.items():
        if algorithm == "sha-256":
            expected = hashlib.sha256(body).digest()
        elif algorithm == "sha-512":
            expected = hashlib.sha512(body).digest()
        else:
            _refuse("digest_mismatch", "Content-Digest uses an unsupported algorithm")
        if not isinstance(digest, bytes) or not hmac.compare_digest(digest, expected):
            _refuse("digest_mismatch", "Content-Digest does not match the body")


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    expected_authority: str,
    resolve_key: ResolveRequestKey,
    nonce_store: NonceStore,
    now: float,
    max_age: int = MAX_AGE,
    max_skew: int = MAX_SKEW,
) -> VerifiedRequest:
    """Authenticate an incoming request or raise ProtocolError; see the module docstring.

    `url` is the absolute URL as this node serves it (configured public origin + full path);
    `expected_authority` is this node's own public host[:port]; `body` the raw bytes.
    """
    lowered = _lower_headers(headers)
    for name in _REQUIRED_HEADERS:
        if name not in lowered:
            _refuse("missing_header", f"header {name} is required")
    covered, params = _signature_params(lowered["signature-input"])
    missing = [c for c in COVERED_COMPONENTS if c not in covered]
    if missing:
        _refuse("missing_component", f"signature does not cover {missing}")

    unknown = params.keys() - _ALLOWED_PARAMS
    if unknown:
        _refuse("bad_signature_input", f"unexpected signature parameter(s) {sorted(unknown)}")
    if params.get("tag") != TAG:
        _refuse("wrong_tag", f'signature tag must be "{TAG}"')
    if params.get("alg") != ALG:
        _refuse("bad_alg", f'signature alg must be "{ALG}"')
    keyid = params.get("keyid")
    if not isinstance(keyid, str):
        _refuse("bad_keyid", "keyid is required")
    node, _, kid = keyid.partition("/")
    if (
        NODE_RE.fullmatch(node) is None
        or KID_RE.fullmatch(kid) is None
        or not kid.startswith(f"ed25519:{node}-request-")
    ):
        _refuse("bad_keyid", 'keyid must be "<node>/ed25519:<node>-request-<8 hex>"')
    nonce = params.get("nonce")
    if not isinstance(nonce, str) or _NONCE_RE.fullmatch(nonce) is None:
        _refuse("missing_nonce", "a nonce of at least 128 bits (base64url) is required")
    created, expires = params.get("created"), params.get("expires")
    if type(created) is not int or type(expires) is not int:
        _refuse("bad_signature_input", "created and expires are required integers")
    if not created < expires <= created + max_age:
        _refuse("bad_signature_input", f"expires must be within {max_age} s after created")
    if created > now + max_skew:
        _refuse("not_yet_valid", "signature created in the future")
    if now > min(created + max_age, expires) + max_skew:
        _refuse("expired", "signature has expired")

    normalized = normalize_url(url)
    our_authority = _split_authority(urlsplit(normalized).scheme, expected_authority.lower())
    if authority_of(normalized) != our_authority:
        _refuse("wrong_authority", "request is addressed to another node")
    _check_content_digest(lowered["content-digest"], body)

    public = resolve_key(node, kid)
    if public.kid != kid or public.use != "request" or public.node != node:
        _refuse("wrong_key_use", f"resolver returned a key that is not {node}'s request key")
    verifier = _Verifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_OneKey(keyid, public)
    )
    message = _Message(method.upper(), normalized, lowered)
    try:
        verifier.verify(
            message,
            max_age=None,
            expect_tag=TAG,
            expect_label=LABEL,
            require_components=COVERED_COMPONENTS,
            body=body,
        )
    except HTTPMessageSignaturesException:
        _refuse("bad_signature", "request signature does not verify")

    ttl = int(min(created + max_age, expires) + max_skew - now) + 1
    if not nonce_store.check_and_store(keyid, nonce, max(ttl, 1)):
        _refuse("replay", "nonce already used")
    return VerifiedRequest(node=node, kid=kid, created=created, nonce=nonce)
