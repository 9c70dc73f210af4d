"""Hostile requests to the inbox: refused as a whole with a 4xx {"code", "reason"}, recorded as
a Refusal, and nothing of the (otherwise valid) batch stored or queued."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from federation.protocol.canonical import DEFAULT_LIMITS, canonical_bytes
from federation.protocol.keys import generate
from federation.services.partners import set_status

from .expect import assert_request_refused, counts
from .partners import (
    INBOX_PATH,
    FakePartner,
    batch,
    new_partner,
    post_raw,
    results_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def valid_body(uk: FakePartner, onward: FakePartner) -> bytes:
    """A batch uk may send and we would accept (and owe onwards to nz)."""
    return canonical_bytes(batch(uk.report_envelope()))


def _json_body(text: str) -> bytes:
    return text.encode("utf-8")


# --------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------


def test_unsigned_request(client: Client, valid_body: bytes) -> None:
    before = counts()

    response = post_raw(client, valid_body, {})

    assert_request_refused(response, 401, "missing_header", before)


def _digest_header(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


@pytest.mark.parametrize(
    ("alteration", "code"),
    [
        pytest.param("body", "digest_mismatch", id="body-changed"),
        pytest.param("body-and-digest", "bad_signature", id="body-and-digest-changed"),
        pytest.param("content-type", "bad_signature", id="content-type-changed"),
        pytest.param("signature", "bad_signature", id="signature-changed"),
    ],
)
def test_request_altered_after_signing(
    client: Client, uk: FakePartner, valid_body: bytes, alteration: str, code: str
) -> None:
    headers = uk.sign_request(valid_body)
    body, content_type = valid_body, "application/json"
    other = canonical_bytes(batch(uk.report_envelope()))
    if alteration == "body":
        body = other
    elif alteration == "body-and-digest":
        body = other
        headers["Content-Digest"] = _digest_header(other)
    elif alteration == "content-type":
        content_type = "text/plain"
    else:
        raw = bytearray(base64.b64decode(headers["Signature"].split(":")[1]))
        raw[0] ^= 1
        headers["Signature"] = f"fed=:{base64.b64encode(bytes(raw)).decode()}:"
    before = counts()

    response = post_raw(client, body, headers, content_type=content_type)

    assert_request_refused(response, 401, code, before)


def test_replayed_request(client: Client, uk: FakePartner, valid_body: bytes) -> None:
    headers = uk.sign_request(valid_body)
    assert results_of(post_raw(client, valid_body, headers))[0]["result"] == "accepted"
    before = counts()

    response = post_raw(client, valid_body, headers)

    assert_request_refused(response, 401, "replay", before)


@pytest.mark.parametrize(
    ("offset", "code"),
    [
        pytest.param(-3600, "expired", id="an-hour-old"),
        pytest.param(-400, "expired", id="past-max-age"),
        pytest.param(+3600, "not_yet_valid", id="an-hour-ahead"),
        pytest.param(+120, "not_yet_valid", id="beyond-clock-skew"),
    ],
)
def test_signature_outside_its_time_window(
    client: Client, uk: FakePartner, valid_body: bytes, offset: int, code: str
) -> None:
    headers = uk.sign_request(valid_body, now=time.time() + offset)
    before = counts()

    response = post_raw(client, valid_body, headers)

    assert_request_refused(response, 401, code, before)


def test_request_signed_by_a_node_that_is_not_a_partner(client: Client, valid_body: bytes) -> None:
    stranger = new_partner("eu")
    before = counts()

    response = stranger.post(client, valid_body)

    assert_request_refused(response, 401, "unknown_partner", before)


def test_request_signed_with_a_key_the_partner_never_published(
    client: Client, uk: FakePartner, valid_body: bytes
) -> None:
    before = counts()

    response = uk.post(client, valid_body, key=generate("uk", "request"))

    assert_request_refused(response, 401, "unknown_key", before)


def test_request_signed_with_a_revoked_key(
    client: Client, uk: FakePartner, valid_body: bytes
) -> None:
    compromised = uk.request
    uk.revoke(compromised)
    uk.publish()
    before = counts()

    response = uk.post(client, valid_body, key=compromised)

    assert_request_refused(response, 401, "revoked_key", before)
    # The replacement key published with the revocation works.
    assert results_of(uk.post(client, valid_body))[0]["result"] == "accepted"


def test_request_from_a_suspended_partner(
    client: Client, uk: FakePartner, valid_body: bytes
) -> None:
    set_status(uk.partner, "suspended")
    before = counts()

    response = uk.post(client, valid_body)

    assert_request_refused(response, 401, "partner_suspended", before)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://other-node.invalid:8000/fed/v1/inbox", id="another-host"),
        pytest.param("http://127.0.0.1:8001/fed/v1/inbox", id="another-port"),
        pytest.param("https://127.0.0.1:8000/fed/v1/inbox", id="another-scheme"),
        pytest.param("http://127.0.0.1:8000/fed/v1/log", id="another-path"),
    ],
)
def test_request_signed_for_another_address(
    client: Client, uk: FakePartner, valid_body: bytes, url: str
) -> None:
    # The node rebuilds the target URI from its own NODE_PUBLIC_URL (never from Host), so a
    # request signed for any other authority or path fails as a signature over other bytes.
    before = counts()

    response = uk.post(client, valid_body, url=url)

    assert_request_refused(response, 401, "bad_signature", before)


# --------------------------------------------------------------------------------------------
# The body, once the sender is known
# --------------------------------------------------------------------------------------------

TXN = "0123456789abcdef"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(
            _json_body(f'{{"items":[],"txn":"{TXN}","txn":"{TXN}x"}}'),
            "duplicate_key",
            id="duplicate-keys",
        ),
        pytest.param(
            _json_body(f'{{"items":[{{"envelope":{{}},"seq":1.0}}],"txn":"{TXN}"}}'),
            "float_not_allowed",
            id="float",
        ),
        pytest.param(
            _json_body(f'{{"items":[{{"envelope":{{}},"seq":1e3}}],"txn":"{TXN}"}}'),
            "float_not_allowed",
            id="exponent",
        ),
        pytest.param(
            _json_body(f'{{"items":{"[" * 40}{"]" * 40},"txn":"{TXN}"}}'),
            "too_deep",
            id="nesting-deeper-than-the-limit",
        ),
        pytest.param(
            _json_body(f'{{"items":[{{"envelope":{{}},"seq":{2**60}}}],"txn":"{TXN}"}}'),
            "unsafe_integer",
            id="unsafe-integer",
        ),
        pytest.param(b'{"txn": "\xff\xfe"}', "invalid_utf8", id="not-utf8"),
        pytest.param(b'{"txn": ', "bad_json", id="truncated"),
        pytest.param(_json_body(f'{{"items":[],"txn":"{TXN}"}}'), "bad_batch", id="no-items"),
        pytest.param(
            _json_body(f'{{"items":[{{"envelope":{{}},"seq":0}}],"txn":"{TXN}"}}'),
            "bad_batch",
            id="seq-zero",
        ),
        pytest.param(_json_body('{"items":[],"txn":"short"}'), "bad_batch", id="short-txn"),
    ],
)
def test_signed_body_outside_the_protocol(
    client: Client, uk: FakePartner, body: bytes, code: str
) -> None:
    before = counts()

    response = uk.post(client, body)

    assert_request_refused(response, 400, code, before, partner="uk")


def test_body_over_the_request_size_limit(
    client: Client, uk: FakePartner, settings: Settings
) -> None:
    body = b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    before = counts()

    response = uk.post(client, body)  # refused before the signature is even looked at

    assert_request_refused(response, 413, "too_large", before)


def test_body_over_the_strict_parser_limit(
    client: Client, uk: FakePartner, settings: Settings
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * DEFAULT_LIMITS.max_bytes
    padding = "x" * (DEFAULT_LIMITS.max_bytes + 1)
    body = canonical_bytes({"txn": TXN, "items": [{"seq": 1, "envelope": {"pad": padding}}]})
    before = counts()

    response = uk.post(client, body)

    assert_request_refused(response, 413, "too_large", before, partner="uk")


def test_inbox_accepts_only_post(client: Client, uk: FakePartner, valid_body: bytes) -> None:
    headers = uk.sign_request(valid_body, method="PUT")
    before = counts()

    response = client.generic(
        "PUT", INBOX_PATH, valid_body, content_type="application/json", headers=headers
    )

    assert response.status_code == 405
    assert counts() == before
