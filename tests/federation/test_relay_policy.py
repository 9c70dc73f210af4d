"""Relay policies that disagree for a while (issue 11, D4): a relay the origin's signed markings
allow, refused only by the receiver's own policy, is not a leak; the receiver records it as
`not_accepted_by_policy`, the sender holds the copy and sends it again (a new transaction) until
the receiver accepts it, once. A relay the markings forbid is still flagged as a leak.

The receiving tests run the batch both ways (bulk and item by item, `both_ways`); the sending
tests talk to a real HTTP server in a thread that answers as the partner would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from core.markings import Classification
from federation.models import Delivery, DeliveryState, Envelope, Partner, Refusal
from federation.services.outbox import (
    deliver_batch,
    partners_with_due_rows,
    replay_dead_letters,
    resend_held_copies,
)
from federation.services.partners import set_policy
from federation.tasks import sweep_outbox
from reports.models import ReportVersion

from .expect import assert_item_refused, assert_not_stored
from .partners import FakePartner, batch, register_partner, results_of
from .test_inbox_batch import both_ways, items_of, outcomes

pytestmark = pytest.mark.django_db
POLICY_CODE = "not_accepted_by_policy"


def leak_flag(code: str) -> bool:
    return Partner.objects.get(code=code).suspected_leak


# --------------------------------------------------------------------------------------------
# The receiver: markings breached, or only our own policy not (yet) agreeing
# --------------------------------------------------------------------------------------------


def test_a_relay_the_markings_allow_but_our_relay_policy_refuses_is_not_a_leak(
    onward: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca")
    uk = register_partner("uk")  # our policy with uk relays no origin yet; uk's relays ca's
    relayed = uk.relay(ca.report_envelope(rel_to=["fvey"]))  # REL TO fvey names us

    results = both_ways(uk, items_of(relayed))

    assert outcomes(results) == [POLICY_CODE]
    assert "not relayed" in results[0]["reason"]
    assert_item_refused(results[0], relayed, POLICY_CODE, sender="uk", leak=False)
    assert not leak_flag("uk")
    assert_not_stored(relayed)
    # A final answer for this item: the cursor moves on (catch-up does not pull it forever).
    assert uk.partner.received_seq == 1


@pytest.mark.parametrize(
    ("markings", "relay_origins", "why"),
    [
        ({"rel_to": ["ca", "uk"]}, ["ca"], "REL TO"),  # our policy would relay ca: still a leak
        ({"rel_to": ["ca", "uk"]}, [], "REL TO"),  # markings decide before our policy
        ({"rel_to": ["fvey"], "orcon": True, "tlp": "amber"}, ["ca"], "ORCON"),
        ({"rel_to": ["fvey"], "classification": "SECRET"}, ["ca"], "accreditation"),
    ],
)
def test_a_relay_the_markings_forbid_is_still_flagged_as_a_leak(
    onward: FakePartner,
    fresh_manifest_cache: Any,
    settings: Settings,
    markings: dict[str, Any],
    relay_origins: list[str],
    why: str,
) -> None:
    settings.NODE_ACCREDITATION = "CONFIDENTIAL"
    ca = register_partner("ca")
    uk = register_partner("uk", relay_origins=relay_origins)
    leaked = uk.relay(ca.report_envelope(**markings))

    results = both_ways(uk, items_of(leaked))

    assert outcomes(results) == ["not_entitled"]
    assert why in results[0]["reason"]
    assert_item_refused(results[0], leaked, "not_entitled", sender="uk", leak=True)
    assert leak_flag("uk")


def test_once_our_policy_relays_the_origin_a_new_txn_of_the_copy_is_accepted_once(
    client: Client, onward: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca")
    uk = register_partner("uk")
    relayed = uk.relay(ca.report_envelope(rel_to=["fvey"]))
    first = batch(relayed)
    [refused] = results_of(uk.post(client, first))
    assert refused["code"] == POLICY_CODE

    set_policy(uk.partner, ceiling=Classification.SECRET, relay_origins=["ca"])

    # The refused txn keeps its answer (final for that txn); the sender's new txn is decided
    # afresh and accepted; sent again, it is a duplicate: one version, owed onwards once.
    assert results_of(uk.post(client, first)) == [refused]
    assert results_of(uk.post(client, batch(relayed))) == [{"seq": 1, "result": "accepted"}]
    assert results_of(uk.post(client, batch(relayed))) == [{"seq": 1, "result": "duplicate"}]
    assert ReportVersion.objects.filter(report_id=relayed["id"]).count() == 1
    assert Envelope.objects.filter(report_id=relayed["id"]).count() == 1
    assert list(Delivery.objects.values_list("partner__code", flat=True)) == ["nz"]
    assert Refusal.objects.filter(partner="uk").count() == 1
    assert not leak_flag("uk")


# --------------------------------------------------------------------------------------------
# The sender: a copy the partner's policy refused is held, then sent again in a new txn
# --------------------------------------------------------------------------------------------


class PolicyOfNz:
    """nz's inbox as nz answers: its policy refuses our relay until `accepts` is set, then it
    accepts the copy once and calls any later copy a duplicate."""

    def __init__(self) -> None:
        self.accepts = False
        self.stored: list[str] = []  # report ids accepted, in order

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        assert (method, path) == ("POST", "/fed/v1/inbox")
        results = []
        for item in body["items"]:
            report_id = item["envelope"]["id"]
            if not self.accepts:
                reason = "reports from uk are not relayed with us"
                results.append(
                    {"seq": item["seq"], "result": "refused", "code": POLICY_CODE, "reason": reason}
                )
            elif report_id in self.stored:
                results.append({"seq": item["seq"], "result": "duplicate"})
            else:
                self.stored.append(report_id)
                results.append({"seq": item["seq"], "result": "accepted"})
        return 200, {"txn": body["txn"], "results": results}


def _owed_to_nz(client: Client, uk: FakePartner, partner_server: Any) -> tuple[Any, PolicyOfNz]:
    """A uk report we accepted and owe to nz (our policy relays uk to nz); nz is the server."""
    env = uk.report_envelope()
    assert results_of(uk.post(client, batch(env))) == [{"seq": 1, "result": "accepted"}]
    nz_inbox = PolicyOfNz()
    server = partner_server(nz_inbox)
    Partner.objects.filter(code="nz").update(base_url=server.url)
    return server, nz_inbox


def _row() -> Delivery:
    return Delivery.objects.get(partner__code="nz")


def _txns(server: Any) -> list[str]:
    return [body["txn"] for _, _, body in server.requests]


def test_a_copy_the_partner_policy_refuses_is_held_and_sent_again_when_its_wait_is_over(
    client: Client, uk: FakePartner, onward: FakePartner, partner_server: Any, settings: Settings
) -> None:
    settings.FEDERATION_HELD_RETRY_S = 3600
    server, nz_inbox = _owed_to_nz(client, uk, partner_server)

    before = timezone.now()
    assert deliver_batch("nz") == 1  # settled for now: held, not pending, not dead
    held = _row()
    assert (held.state, held.replays, held.attempts) == (DeliveryState.HELD, 1, 0)
    assert "held by the partner's policy" in held.last_error
    assert held.next_attempt_at >= before + timedelta(seconds=3600)
    # Not sent again before its turn: not by a batch, not by the sweeper.
    assert deliver_batch("nz") == 0
    assert resend_held_copies() == []
    assert "nz" not in partners_with_due_rows()

    # Its turn comes while nz still refuses: held again, twice as long.
    Delivery.objects.filter(pk=held.pk).update(next_attempt_at=timezone.now())
    assert sweep_outbox() == 1  # queued again (the worker is the one delivering in a deployment)
    assert _row().state == DeliveryState.PENDING
    before = timezone.now()
    deliver_batch("nz")
    again = _row()
    assert (again.state, again.replays) == (DeliveryState.HELD, 2)
    assert again.next_attempt_at >= before + timedelta(seconds=2 * 3600)

    nz_inbox.accepts = True  # nz's administrators add uk to its relay policy
    Delivery.objects.filter(pk=held.pk).update(next_attempt_at=timezone.now())
    assert resend_held_copies() == ["nz"]
    deliver_batch("nz")
    delivered = _row()
    assert delivered.state == DeliveryState.DELIVERED
    assert deliver_batch("nz") == 0  # nothing is sent after it was delivered

    txns = _txns(server)
    assert len(txns) == 3
    assert len(set(txns)) == 3  # each copy in a new txn: decided afresh
    assert nz_inbox.stored == [str(delivered.envelope.report_id)]  # accepted exactly once
    assert not leak_flag("uk")


def _held_at_nz(client: Client, uk: FakePartner, partner_server: Any) -> tuple[Any, PolicyOfNz]:
    server, nz_inbox = _owed_to_nz(client, uk, partner_server)
    deliver_batch("nz")
    assert _row().state == DeliveryState.HELD
    return server, nz_inbox


def _sent_again_and_delivered_once(server: Any, nz_inbox: PolicyOfNz) -> None:
    deliver_batch("nz")
    row = _row()
    assert row.state == DeliveryState.DELIVERED
    assert len(set(_txns(server))) == 2  # the held copy went again in a txn of its own
    assert nz_inbox.stored == [str(row.envelope.report_id)]


def test_a_policy_change_on_our_side_sends_held_copies_at_once(
    client: Client, uk: FakePartner, onward: FakePartner, partner_server: Any
) -> None:
    server, nz_inbox = _held_at_nz(client, uk, partner_server)
    nz_inbox.accepts = True

    set_policy(onward.partner, ceiling=Classification.SECRET, relay_origins=["uk", "ca", "jp"])

    assert _row().state == DeliveryState.PENDING
    assert "nz" in partners_with_due_rows()
    _sent_again_and_delivered_once(server, nz_inbox)


def test_a_held_copy_our_policy_no_longer_allows_is_cancelled_not_sent(
    client: Client, uk: FakePartner, onward: FakePartner, partner_server: Any
) -> None:
    server, _ = _held_at_nz(client, uk, partner_server)

    set_policy(onward.partner, ceiling=Classification.SECRET, relay_origins=[])

    deliver_batch("nz")
    assert _row().state == DeliveryState.CANCELLED
    assert len(server.requests) == 1


def test_an_administrator_replay_sends_held_copies_without_waiting(
    client: Client, uk: FakePartner, onward: FakePartner, partner_server: Any
) -> None:
    server, nz_inbox = _held_at_nz(client, uk, partner_server)
    nz_inbox.accepts = True

    assert replay_dead_letters("nz") == 1

    _sent_again_and_delivered_once(server, nz_inbox)
