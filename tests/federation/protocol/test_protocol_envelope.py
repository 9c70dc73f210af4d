"""Report envelopes: sign, relay, verify end to end; tampering and malformed shapes refused."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from federation.protocol.canonical import canonical_bytes, strict_loads
from federation.protocol.envelope import (
    MAX_HOPS,
    Markings,
    add_hop,
    build_report_envelope,
    build_tombstone,
    check_chain,
    countersign,
    sign_origin,
    signed_digest,
    verify_envelope,
)
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import NodeKey, PublicKey, generate
from tests.federation.protocol.fedproto_support import NOW, REPORT_ID, static_resolver

Resolver = Callable[[str, str, int], PublicKey]


def code_of(fn: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        fn()
    return info.value.code


def wire(env: dict[str, Any]) -> dict[str, Any]:
    """Serialise and parse back, as a receiving node does."""
    parsed: dict[str, Any] = strict_loads(canonical_bytes(env))
    return parsed


# --- round trip -----------------------------------------------------------------------------


def test_signed_report_round_trips_through_the_wire(
    signed_report: dict[str, Any], uk_report: NodeKey, resolver: Resolver
) -> None:
    verified = verify_envelope(wire(signed_report), resolver, NOW)
    assert verified.iss == "uk"
    assert verified.id == REPORT_ID
    assert verified.ver == 1
    assert verified.origin_kid == uk_report.kid
    assert dict(verified.relay_kids) == {}
    assert verified.markings.classification == "SECRET"
    assert verified.markings.rel_to == ("au", "ca", "us")
    assert verified.digest == signed_digest(signed_report)
    assert not verified.is_tombstone


def test_signing_does_not_modify_the_input(report: dict[str, Any], uk_report: NodeKey) -> None:
    before = copy.deepcopy(report)
    signed = sign_origin(report, uk_report)
    assert report == before
    assert set(signed["signatures"]) == {"uk"}


def test_envelope_shape_matches_the_design(signed_report: dict[str, Any]) -> None:
    assert set(signed_report) == {
        "v",
        "typ",
        "iss",
        "id",
        "ver",
        "prev",
        "iat",
        "markings",
        "payload",
        "signatures",
        "unsigned",
    }
    assert signed_report["v"] == 1
    assert signed_report["typ"] == "fed.report"
    assert signed_report["prev"] is None
    assert signed_report["unsigned"] == {"hops": []}
    ((kid, sig),) = signed_report["signatures"]["uk"].items()
    assert kid.startswith("ed25519:uk-report-")
    assert len(sig) == 86


# --- tampering ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e["payload"].__setitem__("quantity", 48),
        lambda e: e["payload"].__setitem__("extra", "x"),
        lambda e: e["markings"].__setitem__("classification", "OFFICIAL"),
        lambda e: e["markings"].__setitem__("rel_to", ["au", "ca", "jp", "us"]),
        lambda e: e["markings"].__setitem__("orcon", True),
        lambda e: e["markings"].__setitem__("tlp", "clear"),
        lambda e: e.__setitem__("iat", e["iat"] - 1),
        lambda e: e.__setitem__("id", "00000000-0000-4000-8000-000000000000"),
    ],
    ids=["payload", "payload-add", "class", "rel_to", "orcon", "tlp", "iat", "id"],
)
def test_any_change_to_signed_fields_breaks_the_origin_signature(
    signed_report: dict[str, Any], resolver: Resolver, tamper: Callable[[dict[str, Any]], None]
) -> None:
    env = wire(signed_report)
    tamper(env)
    assert code_of(lambda: verify_envelope(env, resolver, NOW)) == "bad_signature"


def test_typ_is_signed_so_a_report_cannot_pass_as_a_tombstone(
    uk_report: NodeKey, markings: Markings, resolver: Resolver
) -> None:
    v2 = sign_origin(
        build_report_envelope(
            iss="uk",
            iat=NOW,
            markings=markings,
            payload={"reason": "x"},
            ver=2,
            prev="sha256:" + "A" * 43,
            report_id=REPORT_ID,
        ),
        uk_report,
    )
    env = wire(v2)
    env["typ"] = "fed.tombstone"
    assert code_of(lambda: verify_envelope(env, resolver, NOW)) == "bad_signature"


def test_unsigned_hops_can_be_added_without_breaking_signatures(
    signed_report: dict[str, Any], resolver: Resolver
) -> None:
    hopped = add_hop(add_hop(signed_report, "uk", "ca", NOW - 5), "ca", "us", NOW - 1)
    assert hopped["unsigned"]["hops"][-1] == {"from": "ca", "to": "us", "at": NOW - 1}
    assert signed_report["unsigned"] == {"hops": []}
    assert verify_envelope(wire(hopped), resolver, NOW).iss == "uk"


def test_hops_are_bounded(signed_report: dict[str, Any]) -> None:
    env = signed_report
    for i in range(MAX_HOPS):
        env = add_hop(env, "uk", "ca", NOW + i)
    assert code_of(lambda: add_hop(env, "ca", "us", NOW)) == "bad_envelope"


# --- relays ---------------------------------------------------------------------------------


def test_relay_countersignature_sits_beside_the_untouched_origin_signature(
    signed_report: dict[str, Any], ca_report: NodeKey, uk_report: NodeKey, resolver: Resolver
) -> None:
    relayed = countersign(wire(signed_report), "ca", ca_report)
    assert relayed["signatures"]["uk"] == signed_report["signatures"]["uk"]
    assert set(relayed["signatures"]["ca"]) == {ca_report.kid}
    verified = verify_envelope(wire(relayed), resolver, NOW)
    assert verified.origin_kid == uk_report.kid
    assert dict(verified.relay_kids) == {"ca": ca_report.kid}
    assert verified.digest == signed_digest(signed_report)


def test_a_relay_that_widens_markings_fails_origin_verification(
    signed_report: dict[str, Any], ca_report: NodeKey, resolver: Resolver
) -> None:
    env = wire(signed_report)
    env["markings"]["rel_to"] = ["au", "ca", "jp", "nz", "us"]
    relayed = countersign(env, "ca", ca_report)  # the relay's own signature is valid...
    with pytest.raises(ProtocolError) as info:
        verify_envelope(wire(relayed), resolver, NOW)
    assert info.value.code == "bad_signature"
    assert "origin" in info.value.reason  # ...but the origin's is not


def test_a_bad_countersignature_is_an_error_not_ignored(
    signed_report: dict[str, Any], ca_report: NodeKey, resolver: Resolver
) -> None:
    relayed = wire(countersign(signed_report, "ca", ca_report))
    other = countersign(
        {**signed_report, "payload": {**signed_report["payload"], "quantity": 1}}, "ca", ca_report
    )
    relayed["signatures"]["ca"] = other["signatures"]["ca"]  # valid sig, other bytes
    with pytest.raises(ProtocolError) as info:
        verify_envelope(relayed, resolver, NOW)
    assert info.value.code == "bad_signature"
    assert "countersignature" in info.value.reason


def test_countersigning_mistakes_are_refused(
    report: dict[str, Any], signed_report: dict[str, Any], ca_report: NodeKey, uk_report: NodeKey
) -> None:
    assert code_of(lambda: countersign(report, "ca", ca_report)) == "missing_signature"
    assert code_of(lambda: countersign(signed_report, "uk", uk_report)) == "bad_envelope"
    assert code_of(lambda: countersign(signed_report, "au", ca_report)) == "bad_envelope"
    request_key = generate("ca", "request")
    assert code_of(lambda: countersign(signed_report, "ca", request_key)) == "wrong_key_use"


def test_origin_must_sign_with_its_own_report_key(
    report: dict[str, Any], ca_report: NodeKey
) -> None:
    assert code_of(lambda: sign_origin(report, ca_report)) == "bad_envelope"
    assert code_of(lambda: sign_origin(report, generate("uk", "request"))) == "wrong_key_use"


def test_relay_signature_alone_is_not_enough(
    signed_report: dict[str, Any], ca_report: NodeKey, resolver: Resolver
) -> None:
    relayed = wire(countersign(signed_report, "ca", ca_report))
    del relayed["signatures"]["uk"]
    assert code_of(lambda: verify_envelope(relayed, resolver, NOW)) == "missing_signature"


# --- keys and time --------------------------------------------------------------------------


def test_unknown_origin_key_is_refused(signed_report: dict[str, Any], ca_report: NodeKey) -> None:
    only_ca = static_resolver(ca_report)
    assert code_of(lambda: verify_envelope(wire(signed_report), only_ca, NOW)) == "unknown_key"


def test_signature_by_another_key_of_the_same_node_is_refused(
    report: dict[str, Any], uk_report: NodeKey
) -> None:
    impostor = generate("uk", "report")
    env = wire(sign_origin(report, impostor))
    env["signatures"]["uk"] = {uk_report.kid: env["signatures"]["uk"][impostor.kid]}
    resolver = static_resolver(uk_report)
    assert code_of(lambda: verify_envelope(env, resolver, NOW)) == "bad_signature"


def test_resolver_returning_a_non_report_key_is_refused(signed_report: dict[str, Any]) -> None:
    request_key = generate("uk", "request").public

    def resolve(node: str, kid: str, at_time: int) -> PublicKey:
        return request_key

    assert code_of(lambda: verify_envelope(wire(signed_report), resolve, NOW)) == "wrong_key_use"


def test_origin_key_is_resolved_at_iat_and_relay_keys_at_now(
    signed_report: dict[str, Any], ca_report: NodeKey, uk_report: NodeKey
) -> None:
    seen: list[tuple[str, int]] = []
    table = {uk_report.kid: uk_report.public, ca_report.kid: ca_report.public}

    def resolve(node: str, kid: str, at_time: int) -> PublicKey:
        seen.append((node, at_time))
        return table[kid]

    verify_envelope(wire(countersign(signed_report, "ca", ca_report)), resolve, NOW)
    assert seen == [("uk", signed_report["iat"]), ("ca", NOW)]


def test_iat_in_the_future_beyond_skew_is_refused(
    report: dict[str, Any], uk_report: NodeKey, resolver: Resolver
) -> None:
    ahead = wire(sign_origin({**report, "iat": NOW + 30}, uk_report))
    assert verify_envelope(ahead, resolver, NOW).iat == NOW + 30
    too_far = wire(sign_origin({**report, "iat": NOW + 31}, uk_report))
    assert code_of(lambda: verify_envelope(too_far, resolver, NOW)) == "not_yet_valid"


# --- structure ------------------------------------------------------------------------------


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(env: dict[str, Any]) -> None:
        target = env
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return apply


@pytest.mark.parametrize(
    "mutate",
    [
        _set(("extra",), 1),
        lambda e: e.pop("prev"),
        lambda e: e.pop("markings"),
        _set(("v",), 2),
        _set(("v",), True),
        _set(("typ",), "fed.keys"),
        _set(("iss",), "UK"),
        _set(("iss",), "u"),
        _set(("id",), "not-a-uuid"),
        _set(("id",), REPORT_ID.upper()),
        _set(("ver",), 0),
        _set(("ver",), True),
        _set(("ver",), 2),  # version 2 needs a prev digest
        _set(("prev",), "sha256:" + "A" * 43),  # version 1 has no prev
        _set(("iat",), -1),
        _set(("payload",), ["not", "an", "object"]),
        _set(("markings", "classification"), "TOP SECRET"),
        _set(("markings", "rel_to"), ["us", "ca"]),
        _set(("markings", "rel_to"), ["ca", "ca"]),
        _set(("markings", "rel_to"), []),
        _set(("markings", "rel_to"), ["CAN"]),
        _set(("markings", "orcon"), 0),
        _set(("markings", "tlp"), "white"),
        _set(("markings", "extra"), 1),
        _set(("unsigned", "note"), "x"),
        _set(("unsigned", "hops"), [{"from": "uk", "to": "ca"}]),
        _set(("signatures", "UK"), {}),
    ],
)
def test_malformed_envelopes_are_refused_before_crypto(
    signed_report: dict[str, Any], mutate: Callable[[dict[str, Any]], None]
) -> None:
    env = wire(signed_report)
    mutate(env)

    def must_not_resolve(node: str, kid: str, at_time: int) -> PublicKey:
        raise AssertionError("structure must be refused before any key look-up")

    assert code_of(lambda: verify_envelope(env, must_not_resolve, NOW)) == "bad_envelope"


def test_signature_map_shape_is_strict(
    signed_report: dict[str, Any], uk_report: NodeKey, resolver: Resolver
) -> None:
    env = wire(signed_report)
    sig = env["signatures"]["uk"][uk_report.kid]
    for bad in (
        {uk_report.kid: sig, "ed25519:uk-report-00000000": sig},  # two kids for one node
        {"ed25519:uk-request-00000000": sig},  # not a report key
        {"ed25519:ca-report-00000000": sig},  # another node's kid
        {uk_report.kid: sig[:-1] + ("B" if sig[-1] == "A" else "A")},  # non-canonical tail
        {uk_report.kid: sig + "A"},
    ):
        env["signatures"]["uk"] = bad
        with pytest.raises(ProtocolError) as info:
            verify_envelope(env, resolver, NOW)
        assert info.value.code in {"bad_envelope", "bad_signature"}


def test_floats_in_the_payload_are_refused_by_the_builder(markings: Markings) -> None:
    with pytest.raises(ProtocolError) as info:
        build_report_envelope(iss="uk", iat=NOW, markings=markings, payload={"score": 0.5})
    assert info.value.code == "float_not_allowed"


def test_builder_sorts_and_deduplicates_rel_to() -> None:
    env = build_report_envelope(
        iss="us",
        iat=NOW,
        markings={
            "classification": "OFFICIAL",
            "rel_to": ["uk", "fvey", "uk"],
            "orcon": False,
            "tlp": "green",
        },
        payload={},
    )
    assert env["markings"]["rel_to"] == ["fvey", "uk"]


# --- tombstones and version chains ----------------------------------------------------------


def test_tombstone_withdraws_a_version_and_chains_to_it(
    signed_report: dict[str, Any], uk_report: NodeKey, markings: Markings, resolver: Resolver
) -> None:
    v1 = verify_envelope(wire(signed_report), resolver, NOW)
    tomb = sign_origin(
        build_tombstone(
            iss="uk",
            report_id=REPORT_ID,
            ver=2,
            prev=v1.digest,
            iat=NOW,
            markings=markings,
            reason="source withdrawn",
        ),
        uk_report,
    )
    verified = verify_envelope(wire(tomb), resolver, NOW)
    assert verified.is_tombstone
    assert verified.prev == v1.digest
    assert verified.envelope["payload"] == {"reason": "source withdrawn"}
    assert check_chain(verified, 1, v1.digest) == "new"
    assert code_of(lambda: check_chain(verified, 1, signed_digest(tomb))) == "prev_mismatch"


def test_malformed_tombstones_are_refused(
    uk_report: NodeKey, markings: Markings, resolver: Resolver
) -> None:
    digest = "sha256:" + "A" * 43
    with pytest.raises(ProtocolError):
        build_tombstone(
            iss="uk",
            report_id=REPORT_ID,
            ver=1,
            prev=digest,
            iat=NOW,
            markings=markings,
            reason="x",
        )
    tomb = build_tombstone(
        iss="uk", report_id=REPORT_ID, ver=2, prev=digest, iat=NOW, markings=markings, reason="x"
    )
    tomb["payload"]["title"] = "smuggled content"
    assert code_of(lambda: sign_origin(tomb, uk_report)) == "bad_envelope"


def _version(ver: int, prev: str | None, note: str, key: NodeKey, m: Markings) -> dict[str, Any]:
    env = build_report_envelope(
        iss="uk",
        iat=NOW,
        markings=m,
        payload={"note": note},
        report_id=REPORT_ID,
        ver=ver,
        prev=prev,
    )
    return sign_origin(env, key)


def test_check_chain_rules(uk_report: NodeKey, markings: Markings) -> None:
    v1 = _version(1, None, "first", uk_report, markings)
    d1 = signed_digest(v1)
    v2 = _version(2, d1, "second", uk_report, markings)
    d2 = signed_digest(v2)
    v2_other = _version(2, d1, "equivocation", uk_report, markings)
    v3_wrong_prev = _version(3, d1, "third", uk_report, markings)
    v5 = _version(5, "sha256:" + "B" * 43, "fifth", uk_report, markings)

    assert check_chain(v1, None, None) == "new"
    assert check_chain(v2, 1, d1) == "new"
    assert check_chain(v2, 2, d2) == "duplicate"
    assert check_chain(v5, 2, d2) == "new"  # missed versions are allowed (not entitled to them)
    assert code_of(lambda: check_chain(v1, 2, d2)) == "stale_version"
    assert code_of(lambda: check_chain(v2_other, 2, d2)) == "conflict"
    assert code_of(lambda: check_chain(v3_wrong_prev, 2, d2)) == "prev_mismatch"
    jump = _version(1003, d1, "far", uk_report, markings)
    assert code_of(lambda: check_chain(jump, 2, d2)) == "version_gap"
    assert check_chain(_version(1002, d1, "edge", uk_report, markings), 2, d2) == "new"
    assert code_of(lambda: check_chain(jump, None, None)) == "version_gap"
    with pytest.raises(ValueError, match="both"):
        check_chain(v2, 1, None)
