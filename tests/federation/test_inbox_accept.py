"""The partner-facing inbox, in process, against the real PostgreSQL and Redis: what a correct
partner sends is verified, stored once, relayed onwards, withdrawn and counted in the cursor."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client

from core.markings import Classification
from federation.models import (
    Delivery,
    Envelope,
    InboundTransaction,
    Partner,
    Receipt,
    Refusal,
)
from federation.protocol.envelope import signed_digest
from federation.protocol.keys import generate
from federation.services.inbox import receive_items
from reports.models import Report, ReportVersion, Status

from .expect import assert_item_refused, assert_not_stored, counts
from .partners import FakePartner, batch, register_partner, report_envelope, results_of

pytestmark = pytest.mark.django_db


def test_signed_batch_from_a_partner_is_accepted_and_stored(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    env = uk.report_envelope(rel_to=["fvey"])

    response = uk.post(client, batch(env))

    assert results_of(response) == [{"seq": 1, "result": "accepted"}]
    report = Report.objects.get(pk=env["id"])
    assert (report.origin, report.status, report.current_version) == ("uk", Status.PUBLISHED, 1)
    assert report.author is None
    version = ReportVersion.objects.get(report=report)
    assert version.version == 1
    assert version.title == env["payload"]["title"]
    assert version.classification == Classification.CONFIDENTIAL
    assert version.rel_to == ["fvey"]
    assert set(version.rel_nodes) == {"us", "uk", "ca", "au", "nz"}
    assert version.details["items"][0]["quantity"] == 480
    envelope = Envelope.objects.get(report=report)
    assert envelope.digest == signed_digest(env)
    assert envelope.body == env
    assert (envelope.ver, envelope.typ, envelope.origin) == (1, "fed.report", "uk")
    assert envelope.origin_kid == uk.report.kid
    assert envelope.received_from == "uk"
    assert envelope.relay_kids == {}
    assert envelope.local_version == 1
    assert list(Receipt.objects.values_list("envelope_id", "from_partner")) == [(envelope.pk, "uk")]
    # Relayed onwards to the one other entitled partner, never back to the sender.
    assert list(Delivery.objects.values_list("partner__code", "seq", "state")) == [
        ("nz", 1, "pending")
    ]
    assert InboundTransaction.objects.filter(partner="uk").count() == 1
    assert uk.partner.received_seq == 1
    assert uk.partner.suspected_leak is False
    assert not Refusal.objects.exists()


def test_a_report_not_releasable_onwards_is_stored_but_owed_to_nobody(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    env = uk.report_envelope(rel_to=["uk", "us"])

    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "accepted"}]

    assert Envelope.objects.filter(report_id=env["id"]).exists()
    assert not Delivery.objects.exists()  # REL TO uk, us: nz may not have it


def test_the_same_batch_sent_again_is_idempotent(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    env = uk.report_envelope()
    sent = batch(env)
    first = results_of(uk.post(client, sent))
    stored = counts()

    # The same bytes, signed afresh (new nonce, new signature): the same answer, nothing new.
    assert results_of(uk.post(client, sent)) == first == [{"seq": 1, "result": "accepted"}]
    assert counts() == stored

    # The same envelope in a new transaction: a duplicate, still one version.
    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "duplicate"}]
    assert counts() == replace(stored, transactions=stored.transactions + 1)
    assert ReportVersion.objects.filter(report_id=env["id"]).count() == 1
    assert Delivery.objects.count() == 1


def test_a_copy_by_another_path_is_a_duplicate_with_its_own_receipt(
    client: Client, uk: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca", relay_origins=["uk"])
    env = uk.report_envelope()
    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "accepted"}]

    relayed = ca.relay(env)
    assert results_of(ca.post(client, batch(relayed))) == [{"seq": 1, "result": "duplicate"}]

    envelope = Envelope.objects.get(report_id=env["id"])
    assert envelope.received_from == "uk"
    assert sorted(Receipt.objects.values_list("from_partner", flat=True)) == ["ca", "uk"]
    assert ReportVersion.objects.filter(report_id=env["id"]).count() == 1


def test_a_relayed_report_is_verified_against_the_origin_manifest(
    client: Client, onward: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca")
    uk = register_partner("uk", relay_origins=["ca"])
    original = ca.report_envelope(rel_to=["fvey"])
    relayed = uk.relay(original)

    assert results_of(uk.post(client, batch(relayed))) == [{"seq": 1, "result": "accepted"}]

    envelope = Envelope.objects.get(report_id=original["id"])
    assert envelope.origin == "ca"
    assert Report.objects.get(pk=original["id"]).origin == "ca"
    assert envelope.origin_kid == ca.report.kid
    assert envelope.relay_kids == {"uk": uk.report.kid}
    assert envelope.received_from == "uk"
    assert [hop["from"] for hop in envelope.hops] == ["uk"]
    assert envelope.digest == signed_digest(original)  # the relay's signature is not content
    assert list(Receipt.objects.values_list("from_partner", flat=True)) == ["uk"]
    assert list(Delivery.objects.values_list("partner__code", flat=True)) == ["nz"]

    # The origin signature is checked with ca's manifest: a ca key it does not list fails.
    rogue = ca.report_envelope(key=generate("ca", "report"))
    answer = results_of(uk.post(client, batch(uk.relay(rogue), first_seq=2)))
    assert_item_refused(answer[0], rogue, "unknown_key", sender="uk", leak=False)
    assert_not_stored(rogue)


def test_reports_signed_before_a_key_rotation_still_verify(client: Client, uk: FakePartner) -> None:
    now = int(time.time())
    old_key = uk.report
    early = uk.report_envelope(iat=now - 600)  # signed with the key current at the time
    late_with_old = report_envelope(iss="uk", iat=now - 5)
    late_with_old = uk.sign(late_with_old, old_key)

    uk.rotate_report_key(expired_at=now - 60)
    uk.publish()
    fresh = uk.report_envelope()
    assert fresh["signatures"]["uk"].keys() == {uk.report.kid} != {old_key.kid}

    results = results_of(uk.post(client, batch(early, fresh, late_with_old)))

    assert results[:2] == [{"seq": 1, "result": "accepted"}, {"seq": 2, "result": "accepted"}]
    assert Envelope.objects.get(report_id=early["id"]).origin_kid == old_key.kid
    assert Envelope.objects.get(report_id=fresh["id"]).origin_kid == uk.report.kid
    # The old key only vouches for what it signed before it expired.
    assert_item_refused(results[2], late_with_old, "expired", sender="uk", leak=False)
    assert_not_stored(late_with_old)


def test_a_report_signed_with_a_revoked_key_is_refused(client: Client, uk: FakePartner) -> None:
    compromised = uk.report
    before_revocation = uk.report_envelope(iat=int(time.time()) - 600)
    uk.revoke(compromised)
    uk.publish()
    good = uk.report_envelope()

    results = results_of(uk.post(client, batch(before_revocation, good)))

    # Revoked means never valid, whatever iat the signature claims.
    assert_item_refused(results[0], before_revocation, "revoked_key", sender="uk", leak=False)
    assert_not_stored(before_revocation)
    assert results[1] == {"seq": 2, "result": "accepted"}
    assert Envelope.objects.get(report_id=good["id"]).origin_kid == uk.report.kid


def test_a_tombstone_withdraws_the_report_as_a_new_version(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    env = uk.report_envelope()
    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "accepted"}]
    tombstone = uk.tombstone(env, reason="source recanted")

    results = results_of(uk.post(client, batch(tombstone, first_seq=2)))

    assert results == [{"seq": 2, "result": "accepted"}]
    report = Report.objects.get(pk=env["id"])
    assert (report.status, report.current_version) == (Status.WITHDRAWN, 2)
    versions = ReportVersion.objects.filter(report=report).order_by("version")
    assert [(v.version, v.status) for v in versions] == [
        (1, Status.PUBLISHED),
        (2, Status.WITHDRAWN),
    ]
    assert versions[1].change_note == "Withdrawn by uk: source recanted"
    assert versions[1].title == versions[0].title
    withdrawal = Envelope.objects.get(report=report, ver=2)
    assert withdrawal.typ == "fed.tombstone"
    assert withdrawal.body["prev"] == signed_digest(env)
    # The withdrawal follows the report to whoever was owed it.
    assert sorted(Delivery.objects.values_list("partner__code", "envelope__ver")) == [
        ("nz", 1),
        ("nz", 2),
    ]
    assert uk.partner.received_seq == 2


def test_a_tombstone_for_a_report_never_received_is_refused(
    client: Client, uk: FakePartner
) -> None:
    never_sent = uk.report_envelope()
    tombstone = uk.tombstone(never_sent)

    results = results_of(uk.post(client, batch(tombstone)))

    assert_item_refused(results[0], tombstone, "unknown_report", sender="uk", leak=False)
    assert_not_stored(tombstone)


def catch_ups(callbacks: list[Any]) -> list[Any]:
    """The after-commit callbacks that ask for a catch-up pull (other version hooks, such as
    case scoring, schedule their own)."""
    return [cb for cb in callbacks if getattr(cb, "task", "") == "federation.tasks.catch_up"]


def test_the_cursor_stops_at_a_gap_and_moves_once_it_is_filled(
    uk: FakePartner, django_capture_on_commit_callbacks: Any
) -> None:
    sender = uk.partner
    one, two, three, four = (uk.report_envelope() for _ in range(4))

    with django_capture_on_commit_callbacks(execute=False) as scheduled:
        first = receive_items(
            sender,
            [
                {"seq": 1, "envelope": one},
                {"seq": 2, "envelope": two},
                {"seq": 4, "envelope": four},
            ],
        )
    assert [r["result"] for r in first] == ["accepted"] * 3
    assert Partner.objects.get(code="uk").received_seq == 2
    assert len(catch_ups(scheduled)) == 1  # the hole at 3 asks for a catch-up (not run here)

    with django_capture_on_commit_callbacks(execute=False) as scheduled:
        second = receive_items(sender, [{"seq": 3, "envelope": three}])
    assert second == [{"seq": 3, "result": "accepted"}]
    assert Partner.objects.get(code="uk").received_seq == 4
    assert catch_ups(scheduled) == []  # no hole left

    # Seen again (a pull overlapping a push): duplicates, and the cursor never moves back.
    again = receive_items(sender, [{"seq": 2, "envelope": two}, {"seq": 5, "envelope": one}])
    assert [r["result"] for r in again] == ["duplicate", "duplicate"]
    assert Partner.objects.get(code="uk").received_seq == 5


@pytest.mark.django_db(transaction=True)
def test_a_bad_item_never_spoils_a_good_one_under_real_commits(
    client: Client, uk: FakePartner
) -> None:
    good = uk.report_envelope()
    bad = uk.report_envelope(payload={**good["payload"], "category": "no_such_category"})

    results = results_of(uk.post(client, batch(bad, good)))

    assert results[1] == {"seq": 2, "result": "accepted"}
    assert_item_refused(results[0], bad, "bad_payload", sender="uk", leak=False)
    assert_not_stored(bad)
    assert Envelope.objects.filter(report_id=good["id"]).count() == 1
    assert ReportVersion.objects.filter(report_id=good["id"]).count() == 1
    assert uk.partner.received_seq == 2
