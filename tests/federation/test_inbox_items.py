"""Hostile items inside a correctly signed batch: each is refused on its own (HTTP 200, result
"refused" with a machine code), leaves nothing behind, is recorded as a Refusal, and never
spoils the good item sent with it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from federation.models import Delivery, Envelope, Partner, Refusal
from federation.protocol.envelope import sign_origin, signed_digest
from federation.protocol.keys import generate
from reports.models import Report, ReportVersion

from .expect import assert_item_refused, assert_not_stored
from .partners import (
    FakePartner,
    batch,
    chip_payload,
    next_version,
    register_partner,
    report_envelope,
    results_of,
    tampered,
)

pytestmark = pytest.mark.django_db


def own_good_report(sender: FakePartner) -> dict[str, Any]:
    """A report the sender may send us itself, and that we owe onwards to nz."""
    return sender.report_envelope(rel_to={"fvey", sender.code})


def send_bad_then_good(
    client: Client, sender: FakePartner, bad: dict[str, Any], *, first_seq: int = 1
) -> dict[str, Any]:
    """Post [bad, good] in one batch; check the good one is stored, return the bad result."""
    good = own_good_report(sender)
    results = results_of(sender.post(client, batch(bad, good, first_seq=first_seq)))
    assert results[1] == {"seq": first_seq + 1, "result": "accepted"}
    assert Envelope.objects.filter(digest=signed_digest(good)).exists()
    assert Delivery.objects.filter(envelope__digest=signed_digest(good)).exists()
    return results[0]


def leak_flag(code: str) -> bool:
    return Partner.objects.get(code=code).suspected_leak


# --------------------------------------------------------------------------------------------
# Signatures and keys
# --------------------------------------------------------------------------------------------


def test_payload_tampered_after_signing(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    bad = tampered(uk.report_envelope(), title="Nothing to see here")

    result = send_bad_then_good(client, uk, bad)

    assert_item_refused(result, bad, "bad_signature", sender="uk", leak=True)
    assert_not_stored(bad)
    assert leak_flag("uk")


def test_relay_that_widened_the_markings(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    jp = register_partner("jp", relay_origins=["uk"])
    original = uk.report_envelope(rel_to=["ca", "uk"])
    widened = {**original, "markings": {**original["markings"], "rel_to": ["ca", "jp", "uk", "us"]}}
    bad = jp.relay(widened)

    result = send_bad_then_good(client, jp, bad)

    refusal = assert_item_refused(result, bad, "bad_signature", sender="jp", leak=True)
    assert "origin signature" in refusal.reason
    assert_not_stored(bad)
    assert leak_flag("jp")
    assert not leak_flag("uk")  # the origin signed nothing wrong


def test_unknown_report_key(client: Client, uk: FakePartner, onward: FakePartner) -> None:
    bad = uk.report_envelope(key=generate("uk", "report"))

    result = send_bad_then_good(client, uk, bad)

    assert_item_refused(result, bad, "unknown_key", sender="uk", leak=False)
    assert_not_stored(bad)
    assert not leak_flag("uk")


def test_relay_that_did_not_countersign(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    jp = register_partner("jp", relay_origins=["uk"])
    bad = uk.report_envelope(rel_to=["fvey", "jp"])  # jp may hold it, and forwards it as is

    result = send_bad_then_good(client, jp, bad)

    assert_item_refused(result, bad, "relay_not_countersigned", sender="jp", leak=True)
    assert_not_stored(bad)
    assert leak_flag("jp")


# --------------------------------------------------------------------------------------------
# Entitlement: the origin's signed markings, our accreditation, our relay policy
# --------------------------------------------------------------------------------------------


def test_report_this_node_is_not_entitled_to(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    bad = uk.report_envelope(rel_to=["ca", "uk"])

    result = send_bad_then_good(client, uk, bad)

    assert_item_refused(result, bad, "not_entitled", sender="uk", leak=True)
    assert "REL TO" in result["reason"]
    assert_not_stored(bad)
    assert leak_flag("uk")


def test_report_above_this_node_accreditation(
    client: Client, uk: FakePartner, onward: FakePartner, settings: Settings
) -> None:
    settings.NODE_ACCREDITATION = "CONFIDENTIAL"
    bad = uk.report_envelope(classification="SECRET")

    result = send_bad_then_good(client, uk, bad)  # the good one is CONFIDENTIAL

    assert_item_refused(result, bad, "not_entitled", sender="uk", leak=True)
    assert "SECRET" in result["reason"]
    assert_not_stored(bad)


def test_relayed_report_from_an_origin_outside_our_relay_policy(
    client: Client, onward: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca")
    uk = register_partner("uk", relay_origins=["au"])  # relays from au only, not from ca
    refused = uk.relay(ca.report_envelope(rel_to=["fvey"]))

    result = send_bad_then_good(client, uk, refused)

    # The markings (REL TO fvey) include us: our own relay policy refuses it, uk leaked nothing.
    assert_item_refused(result, refused, "not_accepted_by_policy", sender="uk", leak=False)
    assert "not relayed" in result["reason"]
    assert_not_stored(refused)
    assert not leak_flag("uk")


def test_orcon_report_relayed_by_someone_other_than_its_originator(
    client: Client, onward: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca")
    uk = register_partner("uk", relay_origins=["ca"])
    bad = uk.relay(ca.report_envelope(rel_to=["fvey"], orcon=True, tlp="amber"))

    result = send_bad_then_good(client, uk, bad)

    assert_item_refused(result, bad, "not_entitled", sender="uk", leak=True)
    assert "ORCON" in result["reason"]
    assert_not_stored(bad)
    # The same ORCON report straight from its originator is fine.
    direct = ca.report_envelope(rel_to=["fvey"], orcon=True, tlp="amber")
    assert results_of(ca.post(client, batch(direct))) == [{"seq": 1, "result": "accepted"}]
    assert not Delivery.objects.filter(envelope__digest=signed_digest(direct)).exists()


# --------------------------------------------------------------------------------------------
# The version chain
# --------------------------------------------------------------------------------------------


def _store(client: Client, sender: FakePartner, *envelopes: dict[str, Any]) -> None:
    results = results_of(sender.post(client, batch(*envelopes, first_seq=100)))
    assert all(r["result"] == "accepted" for r in results), results


def _unchanged(report_id: str, versions: list[int]) -> None:
    stored = ReportVersion.objects.filter(report_id=report_id).order_by("version")
    assert [v.version for v in stored] == versions
    assert sorted(Envelope.objects.filter(report_id=report_id).values_list("ver", flat=True)) == (
        versions
    )


def test_version_older_than_the_stored_one(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    one = uk.report_envelope()
    two = uk.sign(next_version(one, title="Revised"))
    _store(client, uk, two)  # version 1 never reached us; 2 is stored
    deliveries = Delivery.objects.count()

    result = send_bad_then_good(client, uk, one)

    assert_item_refused(result, one, "stale_version", sender="uk", leak=False)
    _unchanged(one["id"], [2])
    assert Report.objects.get(pk=one["id"]).title == "Revised"
    assert Delivery.objects.count() == deliveries + 1  # the good item only


def test_next_version_that_does_not_chain_to_the_stored_one(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    one = uk.report_envelope()
    _store(client, uk, one)
    other_one = uk.report_envelope(report_id=one["id"], payload=chip_payload(title="Other v1"))
    other_history = signed_digest(other_one)
    assert other_history != signed_digest(one)
    bad = uk.sign(next_version(one, prev=other_history, title="Forked"))

    result = send_bad_then_good(client, uk, bad)

    assert_item_refused(result, bad, "prev_mismatch", sender="uk", leak=False)
    _unchanged(one["id"], [1])


def test_a_different_envelope_for_a_stored_version(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    one = uk.report_envelope()
    _store(client, uk, one)
    equivocation = uk.report_envelope(report_id=one["id"], payload=chip_payload(title="Other"))

    result = send_bad_then_good(client, uk, equivocation)

    assert_item_refused(result, equivocation, "conflict", sender="uk", leak=False)
    _unchanged(one["id"], [1])
    assert Report.objects.get(pk=one["id"]).title == one["payload"]["title"]


def test_a_report_id_of_another_origin(
    client: Client, uk: FakePartner, onward: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca")
    one = uk.report_envelope()
    _store(client, uk, one)
    hijack = ca.report_envelope(report_id=one["id"], ver=2, prev=signed_digest(one))

    result = send_bad_then_good(client, ca, hijack)

    assert_item_refused(result, hijack, "conflict", sender="ca", leak=False)
    _unchanged(one["id"], [1])
    assert Report.objects.get(pk=one["id"]).origin == "uk"


def test_a_hostile_version_number_is_refused_not_a_server_error(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    # Signed and well formed (ver <= 2**53 - 1), but beyond any database integer column.
    bad = uk.report_envelope(ver=2**40, prev=signed_digest(uk.report_envelope()))

    result = send_bad_then_good(client, uk, bad)

    refusal = assert_item_refused(result, bad, "version_gap", sender="uk", leak=False)
    assert refusal.ver is None
    assert_not_stored(bad)


# --------------------------------------------------------------------------------------------
# The payload schema
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"category": "no_such_category"}, "category", id="unknown-category"),
        pytest.param({"category": 7}, "category", id="category-not-a-string"),
        pytest.param({"category": "cloud_compute"}, "details", id="details-of-another-category"),
        pytest.param({"info_credibility": 9}, "info_credibility", id="out-of-range"),
        pytest.param({"status": "draft"}, "status", id="draft-status"),
        pytest.param({"classified_annex": "..."}, "classified_annex", id="unknown-field"),
        pytest.param(
            {"event_start": "2026-09-02", "event_end": "2026-09-01"},
            "event_end",
            id="ends-before-it-starts",
        ),
    ],
)
def test_payload_outside_the_report_schema(
    client: Client,
    uk: FakePartner,
    onward: FakePartner,
    change: dict[str, Any],
    field: str,
) -> None:
    bad = uk.report_envelope(payload={**chip_payload(), **change})

    result = send_bad_then_good(client, uk, bad)

    assert_item_refused(result, bad, "bad_payload", sender="uk", leak=False)
    assert field in result["reason"]
    assert_not_stored(bad)
    assert not leak_flag("uk")


def test_markings_the_report_rules_forbid(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    # Signed markings that name us but not the origin itself: valid envelope, invalid marking.
    bad = uk.report_envelope(rel_to=["us"])

    result = send_bad_then_good(client, uk, bad)

    assert_item_refused(result, bad, "bad_markings", sender="uk", leak=False)
    assert_not_stored(bad)


def test_structurally_broken_envelopes(
    client: Client, uk: FakePartner, onward: FakePartner
) -> None:
    signed = uk.report_envelope()
    extra_field = {**signed, "comment": "unsigned meaning"}
    no_origin_signature = {**signed, "signatures": {}}
    future = sign_origin(report_envelope(iss="uk", iat=int(time.time()) + 3600), uk.report)

    good = own_good_report(uk)
    items = batch(extra_field, no_origin_signature, future, good)
    results = results_of(uk.post(client, items))

    assert [r.get("code") for r in results] == [
        "bad_envelope",
        "missing_signature",
        "not_yet_valid",
        None,
    ]
    assert results[3]["result"] == "accepted"
    for env in (extra_field, future):
        assert_not_stored(env)
    assert_not_stored(signed)
    assert Refusal.objects.filter(partner="uk").count() == 3
