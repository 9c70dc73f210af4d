"""Replay protection survives the broker (issue 11, D5): request nonces are claimed in
PostgreSQL, so a Redis restart without AOF, or a FLUSHDB, does not make a captured signed
request acceptable again inside its window."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from django.conf import settings
from django.test import Client

from federation.models import AnonymousRefusal, RequestNonce
from federation.noncestore import DatabaseNonceStore, _redis, prune_expired_nonces
from federation.protocol.canonical import canonical_bytes
from federation.tasks import prune_nonces

from .expect import counts
from .partners import FakePartner, batch, post_raw, results_of

pytestmark = pytest.mark.django_db


def test_a_captured_request_stays_refused_after_the_broker_redis_is_flushed(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    raw = canonical_bytes(batch(uk.report_envelope()))
    captured = uk.sign_request(raw)
    assert results_of(post_raw(client, raw, captured)) == [{"seq": 1, "result": "accepted"}]
    stored = counts()

    # Redis loses everything this node kept there (a restart without AOF, a FLUSHDB). Only
    # this node's keys: the e2e federation's nodes may share the database number.
    broker = _redis()
    lost = list(broker.scan_iter(match=f"node-{settings.NODE_CODE}:*", count=1000))
    if lost:
        broker.delete(*lost)
    assert not list(broker.scan_iter(match=f"node-{settings.NODE_CODE}:*"))
    replayed = post_raw(client, raw, captured)

    assert (replayed.status_code, replayed.json()["code"]) == (401, "replay")
    assert counts() == replace(stored, anonymous=stored.anonymous + 1)  # counted, nothing stored
    assert AnonymousRefusal.objects.get().code == "replay"


def test_a_nonce_is_claimed_once_per_keyid_until_it_expires() -> None:
    store = DatabaseNonceStore()
    assert store.check_and_store("uk/ed25519:uk-request-0000000a", "n" * 22, 60)
    assert not store.check_and_store("uk/ed25519:uk-request-0000000a", "n" * 22, 60)
    assert store.check_and_store("ca/ed25519:ca-request-0000000a", "n" * 22, 60)  # per keyid
    # An expired row not pruned yet no longer counts (its request could not verify anyway).
    RequestNonce.objects.filter(keyid__startswith="uk/").update(expires_at=int(time.time()) - 1)
    assert store.check_and_store("uk/ed25519:uk-request-0000000a", "n" * 22, 60)
    assert not store.check_and_store("uk/ed25519:uk-request-0000000a", "n" * 22, 60)


def test_expired_nonces_are_pruned_and_live_ones_kept() -> None:
    now = int(time.time())
    RequestNonce.objects.bulk_create(
        [
            RequestNonce(keyid="uk/k", nonce="gone", expires_at=now - 5),
            RequestNonce(keyid="uk/k", nonce="live", expires_at=now + 300),
        ]
    )
    assert prune_nonces() == 1
    assert list(RequestNonce.objects.values_list("nonce", flat=True)) == ["live"]
    assert prune_expired_nonces(now + 301) == 1
    assert settings.CELERY_BEAT_SCHEDULE["federation-prune-nonces"]["task"] == (
        "federation.tasks.prune_nonces"
    )
