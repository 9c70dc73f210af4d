"""Requests no partner signed: counted per (code, path, client address, hour), not a row each,
and an address that used its allowance is answered 429 before the body is read or anything is
verified. Partners' own refusals keep full rows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import redis
from django.test import Client
from pytest_django.fixtures import Settings

from federation.api import views
from federation.models import AnonymousRefusal, Refusal
from federation.protocol.canonical import canonical_bytes
from federation.services import anonymous

from .expect import counts
from .partners import INBOX_PATH, FakePartner, batch, post_raw, results_of

pytestmark = pytest.mark.django_db
LOG = "/fed/v1/log"


def _unsigned(client: Client, path: str = INBOX_PATH, address: str = "127.0.0.1") -> Any:
    return client.generic(
        "POST" if path == INBOX_PATH else "GET",
        path,
        b"{}",
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def test_a_flood_of_unsigned_requests_is_counted_in_a_few_rows(client: Client) -> None:
    for n in range(70):
        assert _unsigned(client, address=f"198.51.100.{n % 2}").status_code == 401
    for _ in range(5):
        assert _unsigned(client, LOG).status_code == 401

    assert not Refusal.objects.exists()
    rows = {(r.remote_addr, r.path, r.code): r.count for r in AnonymousRefusal.objects.all()}
    assert rows == {
        ("198.51.100.0", INBOX_PATH, "missing_header"): 35,
        ("198.51.100.1", INBOX_PATH, "missing_header"): 35,
        ("127.0.0.1", LOG, "missing_header"): 5,
    }
    row = AnonymousRefusal.objects.get(remote_addr="127.0.0.1")
    assert row.first_seen <= row.last_seen
    assert row.hour == row.first_seen.replace(minute=0, second=0, microsecond=0)


def test_an_address_over_its_allowance_is_answered_429_before_anything_is_verified(
    client: Client, uk: FakePartner, settings: Settings, monkeypatch: Any
) -> None:
    settings.FEDERATION_ANONYMOUS_LIMIT = 5
    for _ in range(5):
        assert _unsigned(client).status_code == 401
    verified: list[str] = []
    real = views.verify_request

    def spy(*args: Any, **kwargs: Any) -> Any:
        verified.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "verify_request", spy)
    body = canonical_bytes(batch(uk.report_envelope()))
    before = counts()

    limited = [uk.post(client, body), *(_unsigned(client) for _ in range(20))]

    assert {(r.status_code, r.json()["code"]) for r in limited} == {(429, "rate_limited")}
    assert 0 < int(limited[0]["Retry-After"]) <= settings.FEDERATION_ANONYMOUS_WINDOW_S
    assert "retry in" in limited[0].json()["reason"]
    assert verified == []  # not even a partner's signature is looked at meanwhile
    assert counts() == replace(before, anonymous=before.anonymous + 1)  # nothing else written
    assert AnonymousRefusal.objects.get(code="rate_limited").count == 1  # once a window


def test_a_partner_s_own_refusals_do_not_use_up_its_address_s_allowance(
    client: Client, uk: FakePartner, settings: Settings
) -> None:
    settings.FEDERATION_ANONYMOUS_LIMIT = 2

    answers = [uk.post(client, b"[]") for _ in range(5)]

    assert [(r.status_code, r.json()["code"]) for r in answers] == [(400, "bad_batch")] * 5
    assert Refusal.objects.filter(partner="uk", code="bad_batch").count() == 5
    assert anonymous.wait_seconds("127.0.0.1") is None


def test_a_partner_behind_another_address_is_not_held_up(
    client: Client, uk: FakePartner, settings: Settings
) -> None:
    settings.FEDERATION_ANONYMOUS_LIMIT = 3
    for _ in range(4):
        _unsigned(client, address="203.0.113.7")
    assert _unsigned(client, address="203.0.113.7").status_code == 429

    answer = uk.post(client, batch(uk.report_envelope()))

    assert results_of(answer) == [{"seq": 1, "result": "accepted"}]


def test_without_redis_the_limit_is_not_applied_and_refusals_are_still_counted(
    client: Client, uk: FakePartner, settings: Settings, monkeypatch: Any
) -> None:
    settings.FEDERATION_ANONYMOUS_LIMIT = 1

    def down() -> Any:
        raise redis.ConnectionError("broker down")

    monkeypatch.setattr(anonymous, "_redis", down)

    assert [_unsigned(client).status_code for _ in range(3)] == [401, 401, 401]
    assert AnonymousRefusal.objects.get(code="missing_header").count == 3
    assert results_of(uk.post(client, batch(uk.report_envelope())))[0]["result"] == "accepted"


def test_a_refusal_after_the_signature_verified_is_the_partner_s_own_row(
    client: Client, uk: FakePartner
) -> None:
    leaked = uk.report_envelope(rel_to=["uk"])  # REL TO does not name us: a breach

    results = results_of(uk.post(client, batch(leaked)))
    refused = post_raw(client, b"[]", uk.sign_request(b"[]"))

    assert results[0]["code"] == "not_entitled"
    assert refused.status_code == 400
    assert sorted(Refusal.objects.values_list("partner", "code")) == [
        ("uk", "bad_batch"),
        ("uk", "not_entitled"),
    ]
    assert not AnonymousRefusal.objects.exists()
