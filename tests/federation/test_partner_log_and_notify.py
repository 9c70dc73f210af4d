"""The other two partner-facing calls: the catch-up log (GET /fed/v1/log) and the key-change
notice (POST /fed/v1/keys/notify), signed like the inbox."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from pytest_django.fixtures import Settings

from federation.models import KeyStatus, KeyUse, OwnKey, PartnerManifest
from federation.protocol.canonical import canonical_bytes
from federation.protocol.envelope import verify_envelope
from federation.protocol.manifest import ManifestView, report_key_resolver, verify_manifest
from federation.services.keys import latest_manifest

from .expect import assert_request_refused, counts
from .partners import JSON, FakePartner, batch, results_of

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
    compromised = uk.request
    uk.revoke(compromised)
    manifest = canonical_bytes(uk.manifest())  # not stored here: the notice brings it

    # Signed with the replacement key, which only the pushed manifest itself introduces.
    response = uk.post(client, manifest, path=NOTIFY)

    assert response.status_code == 200, response.content
    assert response.json() == {"node": "uk", "version": 2}
    assert PartnerManifest.objects.get(partner__code="uk").version == 2
    body = canonical_bytes(batch(uk.report_envelope()))
    before = counts()
    refused = uk.post(client, body, key=compromised)
    assert_request_refused(refused, 401, "revoked_key", before)
