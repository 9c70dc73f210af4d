"""Faults inside a signed batch (issue 11): U+0000 where PostgreSQL cannot store it, and
unexpected errors. A signed partner never gets a bare 500, and a fault in one item never wipes
the refusal record or the leak flag of the item beside it."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from django.db import DataError
from django.test import Client

from federation.models import Envelope, InboundTransaction, Partner, Refusal
from federation.protocol.encoding import b64u_encode
from federation.protocol.envelope import signing_bytes
from federation.services import inbox

from .expect import assert_item_refused, assert_not_stored, assert_request_refused, counts
from .partners import FakePartner, batch, chip_payload, register_partner, results_of

pytestmark = pytest.mark.django_db

NUL = "\x00"


def raw_json(obj: Any) -> bytes:
    """JSON bytes as a careless sender would make them: U+0000 escaped, nothing refused (our
    own `canonical_bytes` refuses U+0000, so it cannot build these bodies)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def with_nul_iss(env: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(env)
    out["iss"] = f"u{NUL}k"
    return out


def leaking_relay() -> tuple[FakePartner, dict[str, Any]]:
    """jp relays to us a uk report marked REL TO ca, uk: we are not entitled, jp leaked it."""
    uk = register_partner("uk")
    jp = register_partner("jp", relay_origins=["ca", "uk"])
    return jp, jp.relay(uk.report_envelope(rel_to=["ca", "uk"]))


def test_a_nul_iss_item_beside_a_leaking_relay_keeps_the_leak_on_record(
    client: Client, fresh_manifest_cache: Any
) -> None:
    jp, leaked = leaking_relay()
    nul_item = with_nul_iss(leaked)

    response = jp.post(client, raw_json(batch(leaked, nul_item)))

    assert response.status_code == 200, response.content
    results = results_of(response)
    assert_item_refused(results[0], leaked, "not_entitled", sender="jp", leak=True)
    assert (results[1]["result"], results[1]["code"]) == ("refused", "bad_envelope")
    nul_row = Refusal.objects.get(partner="jp", code="bad_envelope")
    assert nul_row.origin == "u\ufffdk"  # recorded, with what the column can hold
    assert Partner.objects.get(code="jp").suspected_leak
    assert_not_stored(leaked)
    assert not Envelope.objects.exists()


def test_nul_in_the_txn_is_refused_before_anything_is_stored(
    client: Client, uk: FakePartner
) -> None:
    good = uk.report_envelope()
    body = batch(good, txn=f"0123456789{NUL}abcdef")
    before = counts()

    response = uk.post(client, raw_json(body))

    refusal = assert_request_refused(response, 400, "bad_batch", before, partner="uk")
    assert "txn" in refusal.reason
    assert_not_stored(good)
    assert uk.partner.received_seq == 0


@pytest.mark.parametrize(
    "txn",
    [
        pytest.param("0123456789abcdef\n", id="newline"),
        pytest.param("0123 456789abcdef", id="space"),
        pytest.param("0123456789abcdé", id="non-ascii"),
        pytest.param("-0123456789abcdef", id="punctuation-first"),
        pytest.param("x" * 65, id="too-long"),
    ],
)
def test_a_txn_outside_its_pattern_is_refused(client: Client, uk: FakePartner, txn: str) -> None:
    before = counts()

    response = uk.post(client, raw_json(batch(uk.report_envelope(), txn=txn)))

    assert_request_refused(response, 400, "bad_batch", before, partner="uk")


def test_nul_in_an_envelope_id_refuses_that_item_only(client: Client, uk: FakePartner) -> None:
    bad = copy.deepcopy(uk.report_envelope())
    bad["id"] = bad["id"][:-1] + NUL
    good = uk.report_envelope()

    response = uk.post(client, raw_json(batch(bad, good)))

    results = results_of(response)
    assert (results[0]["result"], results[0]["code"]) == ("refused", "bad_envelope")
    assert results[1] == {"seq": 2, "result": "accepted"}
    row = Refusal.objects.get(partner="uk", code="bad_envelope")
    assert row.report_id == bad["id"][:-1] + "\ufffd"
    assert list(Envelope.objects.values_list("report_id", flat=True)) == [uuid.UUID(good["id"])]
    assert not uk.partner.suspected_leak


def test_nul_in_a_payload_key_refuses_the_body(client: Client, uk: FakePartner) -> None:
    bad = copy.deepcopy(uk.report_envelope())
    bad["payload"][f"ti{NUL}tle"] = bad["payload"].pop("title")
    good = uk.report_envelope()
    before = counts()

    response = uk.post(client, raw_json(batch(bad, good)))

    refusal = assert_request_refused(response, 400, "nul_character", before, partner="uk")
    assert "U+0000" in refusal.reason
    assert_not_stored(bad)
    assert_not_stored(good)


def test_a_correctly_signed_nul_in_a_payload_value_is_refused_not_stored(
    client: Client, uk: FakePartner
) -> None:
    # Signed by a sender whose canonical JSON let U+0000 through: the signature is good.
    unsigned = copy.deepcopy(uk.report_envelope())
    unsigned["payload"]["title"] = f"480 x H100{NUL} via Singapore"
    unsigned["signatures"] = {}
    message = json.dumps(
        {k: v for k, v in unsigned.items() if k not in ("signatures", "unsigned")},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    bad = {**unsigned, "signatures": {"uk": {uk.report.kid: b64u_encode(uk.report.sign(message))}}}
    good = uk.report_envelope()

    response = uk.post(client, raw_json(batch(bad, good)))

    results = results_of(response)
    assert (results[0]["result"], results[0]["code"]) == ("refused", "nul_character")
    assert results[1] == {"seq": 2, "result": "accepted"}
    row = Refusal.objects.get(partner="uk", code="nul_character")
    assert (row.report_id, row.leak_suspected) == (bad["id"], False)
    assert_not_stored(bad)
    assert InboundTransaction.objects.count() == 1


def test_canonical_json_refuses_nul_in_keys_and_strings(uk: FakePartner) -> None:
    from federation.protocol.canonical import canonical_bytes, strict_loads
    from federation.protocol.errors import ProtocolError

    for value in ({"a": f"x{NUL}"}, {f"a{NUL}": 1}, [f"{NUL}"], f"{NUL}"):
        with pytest.raises(ProtocolError) as refused:
            canonical_bytes(value)
        assert refused.value.code == "nul_character"
    with pytest.raises(ProtocolError) as refused:
        strict_loads(b'{"a\\u0000": 1}')
    assert refused.value.code == "nul_character"
    with pytest.raises(ProtocolError):
        signing_bytes({**uk.report_envelope(), "iss": f"u{NUL}k"})


# --------------------------------------------------------------------------------------------
# Unexpected errors (injected into our own code; the database and Redis are real)
# --------------------------------------------------------------------------------------------


def test_a_fault_in_one_item_is_that_item_refusal_and_the_leak_is_still_recorded(
    client: Client, fresh_manifest_cache: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jp, leaked = leaking_relay()
    ca = register_partner("ca")
    good = jp.relay(ca.report_envelope(rel_to=["fvey"]))
    faulty = jp.relay(ca.report_envelope(rel_to=["fvey"], payload=chip_payload(title="Faulty")))
    real_parse = inbox.parse_payload

    def parse_payload(payload: Any) -> Any:
        if payload.get("title") == "Faulty":
            raise RuntimeError("injected fault")
        return real_parse(payload)

    monkeypatch.setattr(inbox, "parse_payload", parse_payload)

    results = results_of(jp.post(client, batch(leaked, faulty, good)))

    assert [r.get("code") for r in results] == ["not_entitled", "internal_error", None]
    assert results[2]["result"] == "accepted"
    assert "RuntimeError" in results[1]["reason"]
    assert "injected" not in results[1]["reason"]  # no internals told to the sender
    assert Partner.objects.get(code="jp").suspected_leak
    assert Refusal.objects.filter(partner="jp", code="not_entitled", leak_suspected=True).exists()
    assert Refusal.objects.filter(partner="jp", code="internal_error").exists()
    assert_not_stored(faulty)
    assert Envelope.objects.filter(report_id=good["id"]).exists()
    # A fault may pass: retryable, so the cursor waits for that item (catch-up pulls it again).
    partner = jp.partner
    assert (partner.received_seq, partner.received_ahead) == (1, [3])


def test_an_unexpected_error_is_a_recorded_json_503_not_a_500(
    client: Client, uk: FakePartner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def receive_batch(sender: Any, body: Any) -> Any:
        raise RuntimeError("injected fault")

    monkeypatch.setattr(inbox, "receive_batch", receive_batch)

    response = uk.post(client, batch(uk.report_envelope()))

    assert response.status_code == 503
    assert response.json() == {
        "code": "internal_error",
        "reason": "this node failed unexpectedly (RuntimeError); retry later",
    }
    assert Refusal.objects.filter(partner="uk", code="internal_error").count() == 1


def test_a_fault_in_the_bulk_write_falls_back_to_item_by_item(
    client: Client, uk: FakePartner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def copy_create(objs: Any) -> Any:
        raise DataError("injected: the database refused a value")

    monkeypatch.setattr(inbox, "copy_create", copy_create)
    leak = uk.report_envelope(rel_to=["ca", "uk"])
    good = uk.report_envelope()

    results = results_of(uk.post(client, batch(leak, good)))

    assert [r["result"] for r in results] == ["refused", "accepted"]
    assert_item_refused(results[0], leak, "not_entitled", sender="uk", leak=True)
    assert Envelope.objects.filter(report_id=good["id"]).count() == 1
    assert uk.partner.suspected_leak
    assert uk.partner.received_seq == 2
