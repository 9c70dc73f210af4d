"""Hostile input: whatever a partner puts in any field, the answer is a ProtocolError (a clean
refusal the inbox can report), never a TypeError/KeyError that would surface as a 500."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.protocol.canonical import canonical_bytes, strict_loads
from federation.protocol.envelope import verify_envelope
from federation.protocol.errors import ProtocolError
from federation.protocol.httpsig import MemoryNonceStore, sign_request, verify_request
from federation.protocol.keys import NodeKey, PublicKey, generate
from federation.protocol.manifest import CurrentKey, build_manifest, sign_manifest, verify_manifest
from tests.federation.protocol.fedproto_support import NOW

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=8), children, max_size=3
        )
    ),
    max_leaves=8,
)
ENVELOPE_PATHS = [
    ("v",), ("typ",), ("iss",), ("id",), ("ver",), ("prev",), ("iat",), ("payload",),
    ("markings",), ("markings", "classification"), ("markings", "rel_to"),
    ("markings", "orcon"), ("markings", "tlp"), ("signatures",), ("signatures", "uk"),
    ("unsigned",), ("unsigned", "hops"),
]  # fmt: skip
MANIFEST_PATHS = [
    ("typ",), ("v",), ("node",), ("version",), ("issued_at",), ("valid_until",), ("keys",),
    ("old_keys",), ("revoked",), ("signatures",), ("signatures", "uk"),
]  # fmt: skip
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def replaced(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = strict_loads(canonical_bytes(obj))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


@SETTINGS
@given(path=st.sampled_from(ENVELOPE_PATHS), value=json_values)
def test_any_value_in_any_envelope_field_is_a_clean_refusal(
    signed_report: dict[str, Any], uk_report: NodeKey, path: tuple[str, ...], value: Any
) -> None:
    env = replaced(signed_report, path, value)

    def resolve(node: str, kid: str, at_time: int) -> PublicKey:
        if kid != uk_report.kid:
            raise ProtocolError("unknown_key", "unknown")
        return uk_report.public

    try:
        verify_envelope(env, resolve, NOW)
    except ProtocolError:
        return
    # Accepted only if the replacement changed nothing that is signed.
    assert path[0] in {"unsigned", "signatures"} or env == signed_report


@pytest.fixture(scope="module")
def uk_root() -> NodeKey:
    return generate("uk", "root")


@pytest.fixture(scope="module")
def signed_manifest(uk_root: NodeKey) -> dict[str, Any]:
    body = build_manifest(
        node="uk",
        version=1,
        issued_at=NOW - 60,
        valid_until=NOW + 86_400,
        keys=[CurrentKey(uk_root.public, 0), CurrentKey(generate("uk", "report").public, 0)],
    )
    return sign_manifest(body, uk_root)


@SETTINGS
@given(path=st.sampled_from(MANIFEST_PATHS), value=json_values)
def test_any_value_in_any_manifest_field_is_a_clean_refusal(
    signed_manifest: dict[str, Any], uk_root: NodeKey, path: tuple[str, ...], value: Any
) -> None:
    body = replaced(signed_manifest, path, value)
    try:
        verify_manifest(canonical_bytes(body), {uk_root.public.fingerprint}, None, NOW)
    except ProtocolError:
        return
    assert body == signed_manifest


@SETTINGS
@given(header=st.sampled_from(["Signature-Input", "Signature", "Content-Digest"]), junk=st.text())
def test_any_junk_in_signature_headers_is_a_clean_refusal(
    uk_request: NodeKey, header: str, junk: str
) -> None:
    url = "https://us.fed.example/fed/v1/send/t"
    headers = {"Content-Type": "application/json"}
    headers |= sign_request("POST", url, headers, b"{}", uk_request, "uk", NOW)
    headers[header] = junk
    with pytest.raises(ProtocolError):
        verify_request(
            "POST",
            url,
            headers,
            b"{}",
            "us.fed.example",
            lambda node, kid: uk_request.public,
            MemoryNonceStore(),
            NOW,
        )
