"""Retryable refusals (issue 11, D2): a report signed with a key the receiver has not seen yet
is refused as retryable, and must still arrive, exactly once, once the receiver learns the key:
by the sender's retry of the same txn, by catch-up, or by an administrator's replay of the
dead letter. A retryable answer is never the final one for a txn, and never moves the cursor.

The partner on the other end of the sender and catch-up tests is a real HTTP server in a thread
(the fake partner's side: it answers as a partner would); the database and Redis are real."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from federation.models import (
    Delivery,
    DeliveryState,
    Envelope,
    InboundTransaction,
    Partner,
    Refusal,
)
from federation.noncestore import _redis, first_in_window
from federation.services.catchup import pull_from
from federation.services.outbox import deliver_batch, replay_dead_letters
from federation.tasks import refresh_manifest_of
from reports.models import ReportVersion

from .expect import assert_not_stored, counts
from .http_partner import point_at
from .partners import FakePartner, batch, results_of

pytestmark = pytest.mark.django_db


def rotated_unseen(partner: FakePartner) -> None:
    """The partner rotates its report key and signs with the new one; the node under test has
    not seen the manifest that lists it yet."""
    partner.rotate_report_key(expired_at=int(time.time()))


def refused_code(result: dict[str, Any]) -> tuple[str, str]:
    return result["result"], result.get("code", "")


# --------------------------------------------------------------------------------------------
# The receiver: a retry of the same txn decides retryable items again
# --------------------------------------------------------------------------------------------


def test_a_retried_txn_is_decided_again_and_delivers_the_report_exactly_once(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    rotated_unseen(uk)
    env = uk.report_envelope()
    sent = batch(env)  # the sender retries with the same txn every time

    for _ in range(2):
        [result] = results_of(uk.post(client, sent))
        assert refused_code(result) == ("refused", "unknown_key")
        assert_not_stored(env)
        assert uk.partner.received_seq == 0  # not decided for good: the cursor waits
    assert Refusal.objects.filter(partner="uk", code="unknown_key").count() == 2

    uk.publish()  # the node under test learns the new key (a refresh, or a pushed manifest)

    assert results_of(uk.post(client, sent)) == [{"seq": 1, "result": "accepted"}]
    assert uk.partner.received_seq == 1
    assert InboundTransaction.objects.get(partner="uk", txn_id=sent["txn"]).results == [
        {"seq": 1, "result": "accepted"}
    ]
    stored = counts()
    # Now final: the same txn is answered from the record, a new one finds a duplicate.
    assert results_of(uk.post(client, sent)) == [{"seq": 1, "result": "accepted"}]
    assert counts() == stored
    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "duplicate"}]
    assert ReportVersion.objects.filter(report_id=env["id"]).count() == 1
    assert Envelope.objects.filter(report_id=env["id"]).count() == 1
    assert list(Delivery.objects.values_list("partner__code", flat=True)) == ["nz"]  # owed once


def test_final_answers_of_a_txn_stand_while_its_retryable_items_are_decided_again(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    first = uk.report_envelope()
    bad = uk.report_envelope(rel_to=["ca", "uk"])  # not entitled: final
    rotated_unseen(uk)
    second = uk.report_envelope()
    sent = batch(first, bad, second)

    results = results_of(uk.post(client, sent))
    assert [refused_code(r) for r in results] == [
        ("accepted", ""),
        ("refused", "not_entitled"),
        ("refused", "unknown_key"),
    ]
    assert uk.partner.received_seq == 2
    refusals = Refusal.objects.count()

    uk.publish()
    again = results_of(uk.post(client, sent))

    # Items 1 and 2 answered from the record (accepted, not "duplicate"; no second refusal or
    # leak row), item 3 decided again.
    assert [refused_code(r) for r in again] == [
        ("accepted", ""),
        ("refused", "not_entitled"),
        ("accepted", ""),
    ]
    assert Refusal.objects.count() == refusals
    assert uk.partner.received_seq == 3
    assert Envelope.objects.filter(report_id=second["id"]).count() == 1
    recorded = InboundTransaction.objects.get(partner="uk", txn_id=sent["txn"]).results
    assert [refused_code(r) for r in recorded] == [refused_code(r) for r in again]


# --------------------------------------------------------------------------------------------
# A partner in a thread: a real HTTP server answering as the fake partner would
# --------------------------------------------------------------------------------------------


def test_an_unknown_key_makes_the_receiver_fetch_the_signer_manifest(
    client: Client, uk: FakePartner, onward: FakePartner, partner_server: Any
) -> None:
    rotated_unseen(uk)
    published = uk.manifest()  # served by uk, not yet pushed to the node under test
    server = partner_server(lambda method, path, body: (200, published))
    point_at(uk, server.url)
    _redis().delete(f"node-{settings.NODE_CODE}:fed:once:refresh:uk")
    env = uk.report_envelope()
    sent = batch(env)

    [result] = results_of(uk.post(client, sent))

    assert refused_code(result) == ("refused", "unknown_key")
    assert not first_in_window("refresh:uk", 60)  # asked for once, after the commit...
    assert refresh_manifest_of("uk")  # ...as the worker then does: the manifest is fetched
    assert [(method, path) for method, path, _ in server.requests] == [
        ("GET", "/.well-known/fed-keys")
    ]
    assert results_of(uk.post(client, sent)) == [{"seq": 1, "result": "accepted"}]
    assert Envelope.objects.filter(report_id=env["id"]).count() == 1


# --------------------------------------------------------------------------------------------
# Catch-up: a retryable refusal does not move the cursor past the item
# --------------------------------------------------------------------------------------------


def test_catch_up_pulls_a_retryable_item_again_until_it_is_delivered_once(
    uk: FakePartner, onward: FakePartner, partner_server: Any
) -> None:
    rotated_unseen(uk)
    env = uk.report_envelope()

    def log(method: str, path: str, body: Any) -> tuple[int, Any]:
        after = int(parse_qs(urlsplit(path).query)["after"][0])
        entries = [{"seq": 1, "envelope": env}] if after < 1 else []
        return 200, {"entries": entries, "last_seq": 1}

    server = partner_server(log)
    point_at(uk, server.url)

    assert pull_from(uk.partner) == 1
    assert uk.partner.received_seq == 0  # refused as unknown_key: pulled again next time
    assert_not_stored(env)
    assert pull_from(uk.partner) == 1
    assert uk.partner.received_seq == 0

    uk.publish()
    assert pull_from(uk.partner) == 1
    assert uk.partner.received_seq == 1
    assert pull_from(uk.partner) == 0  # nothing after the cursor any more
    assert [path for _, path, _ in server.requests] == [
        "/fed/v1/log?after=0&limit=200",
        "/fed/v1/log?after=0&limit=200",
        "/fed/v1/log?after=0&limit=200",
        "/fed/v1/log?after=1&limit=200",
    ]
    assert ReportVersion.objects.filter(report_id=env["id"]).count() == 1
    assert Envelope.objects.filter(report_id=env["id"]).count() == 1


# --------------------------------------------------------------------------------------------
# The sender: retries keep the txn, a replayed dead letter gets a new one
# --------------------------------------------------------------------------------------------


def test_a_replayed_dead_letter_is_sent_in_a_new_transaction(
    client: Client,
    uk: FakePartner,
    onward: FakePartner,
    partner_server: Any,
    settings: Settings,
) -> None:
    settings.FEDERATION_MAX_ATTEMPTS = 2
    env = uk.report_envelope()
    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "accepted"}]
    row = Delivery.objects.get(partner__code="nz")
    answers = ["unknown_key", "unknown_key", "accepted"]

    def inbox(method: str, path: str, body: Any) -> tuple[int, Any]:
        assert (method, path) == ("POST", "/fed/v1/inbox")
        outcome = answers.pop(0)
        if outcome == "accepted":
            result = {"seq": row.seq, "result": "accepted"}
        else:
            result = {"seq": row.seq, "result": "refused", "code": outcome, "reason": "no\x00key"}
        return 200, {"txn": body["txn"], "results": [result]}

    server = partner_server(inbox)
    point_at(onward, server.url)

    def send() -> Delivery:
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        Partner.objects.filter(code="nz").update(backoff_until=None)
        deliver_batch("nz")
        return Delivery.objects.get(pk=row.pk)

    assert send().state == DeliveryState.PENDING
    dead = send()
    assert (dead.state, dead.attempts) == (DeliveryState.DEAD, 2)
    assert "\x00" not in dead.last_error  # the partner's text, stored as the column can hold it
    assert replay_dead_letters("nz") == 1
    delivered = send()
    assert delivered.state == DeliveryState.DELIVERED
    assert delivered.replays == 1

    txns = [body["txn"] for _, _, body in server.requests]
    assert txns[0] == txns[1]  # a retry: the same txn, so the partner may answer from its record
    assert txns[2] != txns[0]  # a replay: decided afresh
    assert [body["items"][0]["envelope"]["id"] for _, _, body in server.requests] == [env["id"]] * 3
