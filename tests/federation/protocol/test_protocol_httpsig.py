"""RFC 9421 request signatures between nodes: round trip, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any

import http_sf
import pytest

from federation.protocol.errors import ProtocolError
from federation.protocol.httpsig import (
    MemoryNonceStore,
    VerifiedRequest,
    content_digest,
    normalize_url,
    sign_request,
    verify_request,
)
from federation.protocol.keys import NodeKey, PublicKey, generate
from federation.protocol.manifest import (
    CurrentKey,
    ManifestView,
    Revocation,
    build_manifest,
    request_key_resolver,
    sign_manifest,
    verify_manifest,
)
from tests.federation.protocol.fedproto_support import NOW

URL = "https://us.fed.example/fed/v1/send/txn-0001"
AUTHORITY = "us.fed.example"
BODY = '{"reports":[{"title":"Zoë"}]}'.encode()
BASE_HEADERS = {"Content-Type": "application/json"}


def resolver_for(*keys: NodeKey) -> Callable[[str, str], PublicKey]:
    table = {(k.node, k.kid): k.public for k in keys}

    def resolve(node: str, kid: str) -> PublicKey:
        if (node, kid) not in table:
            raise ProtocolError("unknown_key", f"{kid} unknown")
        return table[(node, kid)]

    return resolve


@pytest.fixture
def signed(uk_request: NodeKey) -> dict[str, str]:
    return {**BASE_HEADERS, **sign_request("POST", URL, BASE_HEADERS, BODY, uk_request, "uk", NOW)}


def verify(
    headers: dict[str, str],
    key: NodeKey,
    *,
    store: MemoryNonceStore | None = None,
    now: int = NOW,
    method: str = "POST",
    url: str = URL,
    body: bytes = BODY,
    authority: str = AUTHORITY,
    resolve: Callable[[str, str], PublicKey] | None = None,
) -> VerifiedRequest:
    return verify_request(
        method,
        url,
        headers,
        body,
        authority,
        resolve or resolver_for(key),
        store if store is not None else MemoryNonceStore(),
        now,
    )


def refused(fn: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        fn()
    return info.value.code


def edit_signature_input(headers: dict[str, str], old: str, new: str) -> dict[str, str]:
    assert old in headers["Signature-Input"]
    return {**headers, "Signature-Input": headers["Signature-Input"].replace(old, new)}


# --- round trip -----------------------------------------------------------------------------


def test_signed_request_verifies(signed: dict[str, str], uk_request: NodeKey) -> None:
    result = verify(signed, uk_request)
    assert result.node == "uk"
    assert result.kid == uk_request.kid
    assert result.created == NOW
    assert len(result.nonce) == 22  # 128 bits, base64url


def test_signature_input_follows_the_profile(signed: dict[str, str], uk_request: NodeKey) -> None:
    assert set(signed) == {"Content-Type", "Content-Digest", "Signature-Input", "Signature"}
    assert signed["Content-Digest"] == content_digest(BODY)
    parsed: Any = http_sf.parse(signed["Signature-Input"].encode(), tltype="dictionary")
    members, params = parsed["fed"]
    assert [name for name, _ in members] == [
        "@method",
        "@authority",
        "@target-uri",
        "content-type",
        "content-digest",
    ]
    assert params["tag"] == "fed-v1"
    assert params["alg"] == "ed25519"
    assert params["keyid"] == f"uk/{uk_request.kid}"
    assert params["created"] == NOW
    assert params["expires"] == NOW + 60
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", params["nonce"])


def test_signature_matches_an_independent_rfc9421_signature_base(
    signed: dict[str, str], uk_request: NodeKey
) -> None:
    # Built by hand from RFC 9421 section 2.5, without the library: interoperability check.
    params = signed["Signature-Input"].removeprefix("fed=")
    base = "\n".join(
        [
            '"@method": POST',
            f'"@authority": {AUTHORITY}',
            f'"@target-uri": {URL}',
            '"content-type": application/json',
            f'"content-digest": {content_digest(BODY)}',
            f'"@signature-params": {params}',
        ]
    ).encode()
    sig = base64.b64decode(signed["Signature"].removeprefix("fed=:").removesuffix(":"))
    assert uk_request.public.verify(sig, base)
    expected = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert signed["Content-Digest"] == f"sha-256=:{expected}:"


def test_header_names_are_case_insensitive(signed: dict[str, str], uk_request: NodeKey) -> None:
    lowered = {k.lower(): v for k, v in signed.items()}
    assert verify(lowered, uk_request).node == "uk"
    upper = {k.upper(): v for k, v in signed.items()}
    assert verify(upper, uk_request).node == "uk"


def test_sender_and_receiver_urls_are_normalised_alike(uk_request: NodeKey) -> None:
    headers = {**BASE_HEADERS}
    headers |= sign_request(
        "post",
        "HTTPS://US.Fed.Example:443/fed/v1/send/txn-0001",
        headers,
        BODY,
        uk_request,
        "uk",
        NOW,
    )
    assert verify(headers, uk_request).node == "uk"
    assert normalize_url("https://US.fed.example:8443") == "https://us.fed.example:8443/"
    assert refused(lambda: normalize_url("ftp://us.fed.example/x")) == "bad_url"
    assert refused(lambda: normalize_url("https://user:pw@us.fed.example/x")) == "bad_url"


# --- replay ---------------------------------------------------------------------------------


def test_replayed_request_is_refused(signed: dict[str, str], uk_request: NodeKey) -> None:
    store = MemoryNonceStore()
    verify(signed, uk_request, store=store)
    assert refused(lambda: verify(signed, uk_request, store=store, now=NOW + 5)) == "replay"


def test_fresh_requests_with_new_nonces_are_accepted(uk_request: NodeKey) -> None:
    store = MemoryNonceStore()
    for _ in range(3):
        headers = {**BASE_HEADERS}
        headers |= sign_request("POST", URL, headers, BODY, uk_request, "uk", NOW)
        verify(headers, uk_request, store=store)
    assert len(store) == 3


def test_forged_requests_do_not_burn_nonces(signed: dict[str, str], uk_request: NodeKey) -> None:
    store = MemoryNonceStore()
    forged = {**signed, "Content-Type": "text/plain"}
    assert refused(lambda: verify(forged, uk_request, store=store)) == "bad_signature"
    assert verify(signed, uk_request, store=store).node == "uk"


def test_memory_nonce_store_forgets_after_ttl() -> None:
    clock = [0.0]
    store = MemoryNonceStore(clock=lambda: clock[0])
    assert store.check_and_store("uk/k", "n1", 10)
    assert not store.check_and_store("uk/k", "n1", 10)
    assert store.check_and_store("ca/k", "n1", 10)  # per keyid
    clock[0] = 10.5
    assert store.check_and_store("uk/k", "n1", 10)


# --- content and target ---------------------------------------------------------------------


def test_tampered_body_is_refused(signed: dict[str, str], uk_request: NodeKey) -> None:
    tampered = BODY.replace(b"Zo", b"Xo")
    assert refused(lambda: verify(signed, uk_request, body=tampered)) == "digest_mismatch"


def test_tampered_body_with_a_recomputed_digest_is_refused(
    signed: dict[str, str], uk_request: NodeKey
) -> None:
    tampered = BODY.replace(b"Zo", b"Xo")
    headers = {**signed, "Content-Digest": content_digest(tampered)}
    assert refused(lambda: verify(headers, uk_request, body=tampered)) == "bad_signature"


def test_request_for_another_node_is_refused(signed: dict[str, str], uk_request: NodeKey) -> None:
    assert refused(lambda: verify(signed, uk_request, authority="ca.fed.example")) == (
        "wrong_authority"
    )
    other_url = "https://ca.fed.example/fed/v1/send/txn-0001"
    assert (
        refused(lambda: verify(signed, uk_request, url=other_url, authority="ca.fed.example"))
        == "bad_signature"
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", URL),
        ("POST", "https://us.fed.example/fed/v1/send/txn-0002"),
        ("POST", URL + "?replay=1"),
        ("POST", "http://us.fed.example/fed/v1/send/txn-0001"),
    ],
)
def test_method_and_target_are_covered(
    signed: dict[str, str], uk_request: NodeKey, method: str, url: str
) -> None:
    assert refused(lambda: verify(signed, uk_request, method=method, url=url)) == "bad_signature"


# --- time -----------------------------------------------------------------------------------


def test_clock_window_boundaries(signed: dict[str, str], uk_request: NodeKey) -> None:
    # expires = created + 60, skew 30: accepted from NOW - 30 up to NOW + 90 inclusive.
    assert verify(signed, uk_request, now=NOW - 30).created == NOW
    assert verify(signed, uk_request, now=NOW + 90).created == NOW
    assert refused(lambda: verify(signed, uk_request, now=NOW + 91)) == "expired"
    assert refused(lambda: verify(signed, uk_request, now=NOW - 31)) == "not_yet_valid"


def test_expires_cannot_stretch_beyond_max_age(uk_request: NodeKey) -> None:
    headers = {**BASE_HEADERS}
    headers |= sign_request("POST", URL, headers, BODY, uk_request, "uk", NOW)
    stretched = edit_signature_input(headers, f"expires={NOW + 60}", f"expires={NOW + 3600}")
    assert refused(lambda: verify(stretched, uk_request)) == "bad_signature_input"


# --- keys -----------------------------------------------------------------------------------


def test_unknown_key_is_refused(signed: dict[str, str], uk_request: NodeKey) -> None:
    store = MemoryNonceStore()
    other = generate("uk", "request")
    assert (
        refused(lambda: verify(signed, uk_request, store=store, resolve=resolver_for(other)))
        == "unknown_key"
    )
    assert len(store) == 0


def test_revoked_request_key_is_refused_through_the_manifest(
    signed: dict[str, str], uk_request: NodeKey
) -> None:
    root = generate("uk", "root")
    body = build_manifest(
        node="uk",
        version=5,
        issued_at=NOW - 60,
        valid_until=NOW + 86_400,
        keys=[CurrentKey(root.public, 0)],
        revoked=[Revocation(uk_request.kid, NOW - 30, "lost laptop")],
    )
    m = verify_manifest(sign_manifest(body, root), {root.public.fingerprint}, None, NOW)
    resolve = request_key_resolver({"uk": ManifestView(m)}, NOW)
    assert refused(lambda: verify(signed, uk_request, resolve=resolve)) == "revoked_key"


def test_a_report_key_cannot_authenticate_requests(
    signed: dict[str, str], uk_request: NodeKey, uk_report: NodeKey
) -> None:
    assert (
        refused(lambda: sign_request("POST", URL, BASE_HEADERS, BODY, uk_report, "uk", NOW))
        == "wrong_key_use"
    )

    def wrong(node: str, kid: str) -> PublicKey:
        return uk_report.public

    assert refused(lambda: verify(signed, uk_request, resolve=wrong)) == "wrong_key_use"


def test_signature_by_another_key_under_our_keyid_is_refused(uk_request: NodeKey) -> None:
    impostor = generate("uk", "request")
    headers = {**BASE_HEADERS}
    headers |= sign_request("POST", URL, headers, BODY, impostor, "uk", NOW)
    claimed = edit_signature_input(headers, impostor.kid, uk_request.kid)
    assert refused(lambda: verify(claimed, uk_request)) == "bad_signature"


def test_keyid_must_name_the_node_and_one_of_its_request_keys(
    signed: dict[str, str], uk_request: NodeKey
) -> None:
    as_ca = edit_signature_input(signed, 'keyid="uk/', 'keyid="ca/')
    assert refused(lambda: verify(as_ca, uk_request)) == "bad_keyid"
    bare = edit_signature_input(signed, 'keyid="uk/', 'keyid="')
    assert refused(lambda: verify(bare, uk_request)) == "bad_keyid"


# --- malformed signatures -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["Signature-Input", "Signature", "Content-Digest", "Content-Type"]
)
def test_missing_headers_are_refused(
    signed: dict[str, str], uk_request: NodeKey, header: str
) -> None:
    headers = {k: v for k, v in signed.items() if k != header}
    assert refused(lambda: verify(headers, uk_request)) == "missing_header"


@pytest.mark.parametrize(
    "component", ['"@method" ', '"@authority" ', '"@target-uri" ', '"content-type" ']
)
def test_missing_covered_components_are_refused(
    signed: dict[str, str], uk_request: NodeKey, component: str
) -> None:
    headers = edit_signature_input(signed, component, "")
    assert refused(lambda: verify(headers, uk_request)) == "missing_component"


def test_missing_content_digest_coverage_is_refused(
    signed: dict[str, str], uk_request: NodeKey
) -> None:
    headers = edit_signature_input(signed, ' "content-digest"', "")
    assert refused(lambda: verify(headers, uk_request)) == "missing_component"


def test_wrong_tag_is_refused(signed: dict[str, str], uk_request: NodeKey) -> None:
    headers = edit_signature_input(signed, 'tag="fed-v1"', 'tag="other-app"')
    assert refused(lambda: verify(headers, uk_request)) == "wrong_tag"


def test_other_algorithms_are_refused(signed: dict[str, str], uk_request: NodeKey) -> None:
    headers = edit_signature_input(signed, 'alg="ed25519"', 'alg="hmac-sha256"')
    assert refused(lambda: verify(headers, uk_request)) == "bad_alg"


def test_nonce_is_mandatory(signed: dict[str, str], uk_request: NodeKey) -> None:
    without = re.sub(r';nonce="[^"]*"', "", signed["Signature-Input"])
    assert refused(lambda: verify({**signed, "Signature-Input": without}, uk_request)) == (
        "missing_nonce"
    )
    short = re.sub(r'nonce="[^"]*"', 'nonce="abc"', signed["Signature-Input"])
    assert refused(lambda: verify({**signed, "Signature-Input": short}, uk_request)) == (
        "missing_nonce"
    )


def test_only_the_fed_label_counts(signed: dict[str, str], uk_request: NodeKey) -> None:
    relabelled = {
        **signed,
        "Signature-Input": "other" + signed["Signature-Input"].removeprefix("fed"),
        "Signature": "other" + signed["Signature"].removeprefix("fed"),
    }
    assert refused(lambda: verify(relabelled, uk_request)) == "missing_signature"


def test_garbage_structured_fields_are_refused(signed: dict[str, str], uk_request: NodeKey) -> None:
    garbage = {**signed, "Signature-Input": "fed=(((("}
    assert refused(lambda: verify(garbage, uk_request)) == "bad_signature_input"
    no_digest = {**signed, "Content-Digest": "md5=:AAAA:"}
    assert refused(lambda: verify(no_digest, uk_request)) == "digest_mismatch"


def test_unexpected_signature_parameters_are_refused(
    signed: dict[str, str], uk_request: NodeKey
) -> None:
    headers = edit_signature_input(signed, 'tag="fed-v1"', 'tag="fed-v1";extra=1')
    assert refused(lambda: verify(headers, uk_request)) == "bad_signature_input"


def test_signing_requires_a_content_type(uk_request: NodeKey) -> None:
    assert refused(lambda: sign_request("POST", URL, {}, BODY, uk_request, "uk", NOW)) == (
        "missing_header"
    )
