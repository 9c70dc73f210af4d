"""A request signed with a key we do not know (issue 11, D3, the receiver's half): the
partner may have rotated or revoked while its push could not reach us, so we fetch its manifest
before deciding (at most once a minute per partner) and a brand-new key is accepted in that
very request, instead of refused until the hourly refresh. The partner's manifest endpoint is a
real HTTP server in a thread; database and Redis are real."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from federation.models import AnonymousRefusal
from federation.noncestore import _redis

from .http_partner import point_at
from .partners import FakePartner, batch, results_of

pytestmark = pytest.mark.django_db


def _forget_refresh_window(code: str) -> None:
    _redis().delete(f"node-{settings.NODE_CODE}:fed:once:refresh:{code}")


def test_a_request_signed_with_a_partner_s_brand_new_key_is_accepted_in_that_request(
    client: Client, uk: FakePartner, partner_server: Any
) -> None:
    old = uk.request
    uk.revoke(old)  # uk revokes its request key and signs with a new one; no push reached us
    published = uk.manifest()
    server = partner_server(lambda method, path, body: (200, published))
    point_at(uk, server.url)
    _forget_refresh_window("uk")

    answer = uk.post(client, batch(uk.report_envelope()))

    assert results_of(answer) == [{"seq": 1, "result": "accepted"}]
    assert [(method, path) for method, path, _ in server.requests] == [
        ("GET", "/.well-known/fed-keys")
    ]
    refused = uk.post(client, batch(uk.report_envelope(), first_seq=2), key=old)
    assert (refused.status_code, refused.json()["code"]) == (401, "revoked_key")
    assert len(server.requests) == 1  # a revoked key needs no fetch: the manifest says so


def test_the_fetch_for_an_unknown_request_key_is_rate_limited_and_never_a_500(
    client: Client, uk: FakePartner, partner_server: Any
) -> None:
    server = partner_server(lambda method, path, body: (503, {"code": "down", "reason": "down"}))
    point_at(uk, server.url)
    _forget_refresh_window("uk")
    uk.revoke(uk.request)  # a new key we cannot learn: uk's manifest endpoint is down

    for _ in range(3):
        answer = uk.post(client, batch(uk.report_envelope()))
        assert (answer.status_code, answer.json()["code"]) == (401, "unknown_key")
    assert len(server.requests) == 1  # at most once a minute per partner
    # Signed by no key we can verify: counted as anonymous, all three in one row.
    assert AnonymousRefusal.objects.get(code="unknown_key").count == 3
