"""The other two partner-facing calls: the catch-up log (GET /fed/v1/log) and the key-change
notice (POST /fed/v1/keys/notify), signed like the inbox."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from pytest_django.fixtures import Settings

from federation.api import views
from federation.models import KeyStatus, KeyUse, OwnKey, PartnerManifest
from federation.noncestore import _redis
from federation.protocol.canonical import canonical_bytes
from federation.protocol.envelope import verify_envelope
from federation.protocol.keys import generate
from federation.protocol.manifest import ManifestView, report_key_resolver, verify_manifest
from federation.services.keys import latest_manifest

from .expect import assert_request_refused, counts
from .http_partner import point_at
from .partners import JSON, FakePartner, batch, new_partner, post_raw, results_of

pytestmark = pytest.mark.django_db
LOG = "/fed/v1/log"
NOTIFY = "/fed/v1/keys/notify"


@pytest.fixture
def own_keys_in(settings: Settings, tmp_path: Path) -> Path:
    """The node under test makes its own keys on first use: keep them out of var/."""
    settings.DATA_DIR = tmp_path
    return tmp_path


def signed_get(client: Client, partner: FakePartner, path_and_query: str) -> Any:
    url = f"{django_settings.NODE_PUBLIC_URL}{path_and_query}"
    headers = partner.sign_request(b"", url=url, method="GET")
    # Django's test client drops Content-Type when there is no body; a real client sends it.
    headers["Content-Type"] = JSON
    return client.generic("GET", path_and_query, b"", headers=headers)


def test_a_partner_pulls_what_it_is_owed_countersigned_by_us(
    client: Client, uk: FakePartner, onward: FakePartner, own_keys_in: Path
) -> None:
    env = uk.report_envelope()
    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "accepted"}]

    response = signed_get(client, onward, f"{LOG}?after=0&limit=10")

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["last_seq"] == 1
    [entry] = answer["entries"]
    assert entry["seq"] == 1
    relayed = entry["envelope"]
    assert set(relayed["signatures"]) == {"uk", "us"}
    assert relayed["unsigned"]["hops"][-1]["from"] == "us"
    assert relayed["unsigned"]["hops"][-1]["to"] == "nz"
    # What nz receives verifies end to end: uk's signature and our countersignature.
    ours = latest_manifest()
    assert ours is not None
    now = int(time.time())
    root = OwnKey.objects.get(use=KeyUse.ROOT, status=KeyStatus.CURRENT).fingerprint
    views = {
        "us": ManifestView(verify_manifest(dict(ours.body), {root}, None, now)),
        "uk": ManifestView(
            verify_manifest(
                dict(PartnerManifest.objects.get(partner__code="uk").body),
                {uk.root.public.fingerprint},
                None,
                now,
            )
        ),
    }
    verified = verify_envelope(relayed, report_key_resolver(views), now)
    assert verified.iss == "uk"
    assert set(verified.relay_kids) == {"us"}

    # uk is owed nothing: its own report never goes back to it.
    back = signed_get(client, uk, f"{LOG}?after=0")
    assert back.status_code == 200, back.content
    assert back.json()["entries"] == []


@pytest.mark.parametrize("query", ["after=soon", "after=-1", "limit=0", "after=1&limit=x"])
def test_log_query_outside_the_protocol(client: Client, onward: FakePartner, query: str) -> None:
    before = counts()

    response = signed_get(client, onward, f"{LOG}?{query}")

    assert_request_refused(response, 400, "bad_query", before, partner="nz")


def test_unsigned_log_request(client: Client, onward: FakePartner) -> None:
    before = counts()

    response = client.get(f"{LOG}?after=0")

    assert_request_refused(response, 401, "missing_header", before)


def test_a_revocation_notice_takes_effect_at_once(client: Client, uk: FakePartner) -> None:
    standby = generate("uk", "request")
    uk.standby.append(standby)  # a ceremony vouched for it ahead of use; we hold that manifest
    uk.publish()
    compromised = uk.request
    uk.revoke(compromised)
    uk.request = uk.standby.pop()  # the standby takes over, as `federation_keys revoke` does
    manifest = canonical_bytes(uk.manifest())  # not stored here: the notice brings it

    response = uk.post(client, manifest, path=NOTIFY)

    assert response.status_code == 200, response.content
    assert response.json() == {"node": "uk", "version": 3}
    assert PartnerManifest.objects.get(partner__code="uk").version == 3
    body = canonical_bytes(batch(uk.report_envelope()))
    before = counts()
    refused = uk.post(client, body, key=compromised)
    assert_request_refused(refused, 401, "revoked_key", before)


def test_a_notice_signed_with_a_key_we_do_not_know_yet_fetches_the_manifest_first(
    client: Client, uk: FakePartner, partner_server: Any
) -> None:
    uk.revoke(uk.request)  # no standby: the replacement is only in the new manifest
    published = uk.manifest()
    server = partner_server(lambda method, path, body: (200, published))
    point_at(uk, server.url)
    _redis().delete(f"node-{django_settings.NODE_CODE}:fed:once:refresh:uk")

    response = uk.post(client, canonical_bytes(published), path=NOTIFY)

    assert response.status_code == 200, response.content
    assert [(method, path) for method, path, _ in server.requests] == [
        ("GET", "/.well-known/fed-keys")
    ]
    assert PartnerManifest.objects.get(partner__code="uk").version == 2


def _unsigned(uk: FakePartner, body: bytes) -> dict[str, str]:
    return {}


def _altered(uk: FakePartner, body: bytes) -> dict[str, str]:
    headers = uk.sign_request(body, url=f"{django_settings.NODE_PUBLIC_URL}{NOTIFY}")
    raw = bytearray(base64.b64decode(headers["Signature"].split(":")[1]))
    raw[0] ^= 1
    return {**headers, "Signature": f"fed=:{base64.b64encode(bytes(raw)).decode()}:"}


def _unpublished_key(uk: FakePartner, body: bytes) -> dict[str, str]:
    url = f"{django_settings.NODE_PUBLIC_URL}{NOTIFY}"
    return uk.sign_request(body, url=url, key=generate("uk", "request"))


def _stranger(uk: FakePartner, body: bytes) -> dict[str, str]:
    return new_partner("eu").sign_request(body, url=f"{django_settings.NODE_PUBLIC_URL}{NOTIFY}")


@pytest.mark.parametrize(
    ("sign", "code"),
    [
        pytest.param(_unsigned, "missing_header", id="unsigned"),
        pytest.param(_altered, "bad_signature", id="signature-altered"),
        pytest.param(_unpublished_key, "unknown_key", id="key-never-published"),
        pytest.param(_stranger, "unknown_partner", id="not-a-partner"),
    ],
)
def test_an_unverified_notice_changes_no_manifest(
    client: Client, uk: FakePartner, sign: Any, code: str
) -> None:
    uk.revoke(uk.report)
    manifest = canonical_bytes(uk.manifest())  # genuine, root-signed: it would be stored
    before = counts()

    response = post_raw(client, manifest, sign(uk, manifest), path=NOTIFY)

    assert_request_refused(response, 401, code, before)
    stored = PartnerManifest.objects.get(partner__code="uk")
    assert (stored.version, stored.body["revoked"]) == (1, {})


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"node": "uk", "node": "us"}', id="duplicate-keys"),
        pytest.param(b"[" * 100_000, id="deep-nesting"),
        pytest.param(b'{"version": 1e400}', id="float"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_a_hostile_notice_body_is_not_parsed_before_the_signature_verifies(
    client: Client, uk: FakePartner, monkeypatch: Any, body: bytes
) -> None:
    parsed: list[bytes] = []
    real = views.strict_loads

    def spy(raw: bytes, limits: Any) -> Any:
        parsed.append(raw)
        return real(raw, limits)

    monkeypatch.setattr(views, "strict_loads", spy)
    before = counts()

    unsigned = post_raw(client, body, {}, path=NOTIFY)
    forged = post_raw(client, body, _altered(uk, body), path=NOTIFY)

    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "missing_header")
    assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature")
    assert parsed == []
    assert counts().anonymous == before.anonymous + 2
    # Signed by uk, the same body reaches the strict parser, and is refused there.
    signed = uk.post(client, body, path=NOTIFY)
    assert signed.status_code in (400, 413), signed.content
    assert parsed == [body]
    assert PartnerManifest.objects.get(partner__code="uk").version == 1
