"""Key manifests: pinning, rotation, revocation, rollback and expiry."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from federation.protocol.canonical import canonical_bytes, strict_loads
from federation.protocol.envelope import (
    Markings,
    build_report_envelope,
    sign_origin,
    verify_envelope,
)
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import NodeKey, generate
from federation.protocol.manifest import (
    MAX_VALIDITY,
    CurrentKey,
    Manifest,
    ManifestView,
    OldKey,
    Revocation,
    build_manifest,
    report_key_resolver,
    request_key_resolver,
    sign_manifest,
    verify_manifest,
)
from tests.federation.protocol.fedproto_support import NOW, REPORT_ID

DAY = 86_400
T_ROTATE = NOW - 10 * DAY  # report key A retired, key B current from here on


def code_of(fn: Callable[[], object]) -> str:
    with pytest.raises(ProtocolError) as info:
        fn()
    return info.value.code


class UkKeys:
    """One node's key ring across a rotation."""

    def __init__(self) -> None:
        self.root = generate("uk", "root")
        self.root2 = generate("uk", "root")
        self.report_a = generate("uk", "report")
        self.report_b = generate("uk", "report")
        self.request = generate("uk", "request")

    @property
    def pins(self) -> set[str]:
        return {self.root.public.human_fingerprint}  # humans paste grouped fingerprints


@pytest.fixture(scope="module")
def uk() -> UkKeys:
    return UkKeys()


def manifest(
    uk: UkKeys,
    version: int,
    keys: Iterable[CurrentKey],
    old: Iterable[OldKey] = (),
    revoked: Iterable[Revocation] = (),
    issued_at: int = NOW - DAY,
    signer: NodeKey | None = None,
    root_listed: NodeKey | None = None,
) -> dict[str, Any]:
    root = root_listed or uk.root
    body = build_manifest(
        node="uk",
        version=version,
        issued_at=issued_at,
        valid_until=issued_at + 7 * DAY,
        keys=[CurrentKey(root.public, 0), *keys],
        old_keys=old,
        revoked=revoked,
    )
    return sign_manifest(body, signer or root)


def v1(uk: UkKeys) -> dict[str, Any]:
    return manifest(
        uk,
        1,
        [CurrentKey(uk.report_a.public, 0), CurrentKey(uk.request.public, 0)],
        issued_at=NOW - 2 * DAY,
    )


def v2(uk: UkKeys) -> dict[str, Any]:
    return manifest(
        uk,
        2,
        [CurrentKey(uk.report_b.public, T_ROTATE), CurrentKey(uk.request.public, 0)],
        old=[OldKey(uk.report_a.public, T_ROTATE)],
    )


def v3_revoking_a(uk: UkKeys) -> dict[str, Any]:
    return manifest(
        uk,
        3,
        [CurrentKey(uk.report_b.public, T_ROTATE), CurrentKey(uk.request.public, 0)],
        revoked=[Revocation(uk.report_a.kid, NOW - DAY, "key compromise")],
    )


def report_signed(key: NodeKey, iat: int) -> dict[str, Any]:
    env = build_report_envelope(
        iss="uk",
        iat=iat,
        markings=Markings.of("SECRET", ["us"], False, "amber"),
        payload={"title": "t"},
        report_id=REPORT_ID,
    )
    parsed: dict[str, Any] = strict_loads(canonical_bytes(sign_origin(env, key)))
    return parsed


def accepted(uk: UkKeys, body: dict[str, Any], previous: Manifest | None = None) -> Manifest:
    return verify_manifest(canonical_bytes(body), uk.pins, previous, NOW)


# --- basic verification ---------------------------------------------------------------------


def test_manifest_signed_by_a_pinned_root_verifies(uk: UkKeys) -> None:
    m = accepted(uk, v2(uk))
    assert m.node == "uk"
    assert m.version == 2
    assert m.signed_by == uk.root.kid
    assert set(m.keys) == {uk.root.kid, uk.report_b.kid, uk.request.kid}
    assert set(m.old_keys) == {uk.report_a.kid}
    assert m.body["typ"] == "fed.keys"
    assert m.digest.startswith("sha256:")


def test_parsed_object_and_raw_bytes_give_the_same_manifest(uk: UkKeys) -> None:
    body = v2(uk)
    from_obj = verify_manifest(json.loads(json.dumps(body)), uk.pins, None, NOW)
    assert from_obj.digest == accepted(uk, body).digest


def test_tampered_manifest_is_refused(uk: UkKeys) -> None:
    body = v2(uk)
    intruder = generate("uk", "report")
    body["keys"][intruder.kid] = {
        "alg": "ed25519",
        "key": intruder.public.b64,
        "use": "report",
        "not_before": 0,
    }
    assert code_of(lambda: accepted(uk, body)) == "bad_signature"


def test_duplicate_keys_in_raw_manifest_are_refused_before_crypto(uk: UkKeys) -> None:
    raw = canonical_bytes(v2(uk))
    raw = raw.replace(b'"version":2', b'"version":2,"version":9')
    assert code_of(lambda: verify_manifest(raw, uk.pins, None, NOW)) == "duplicate_key"


def test_unpinned_root_is_refused(uk: UkKeys) -> None:
    other = {generate("uk", "root").public.fingerprint}
    assert code_of(lambda: verify_manifest(canonical_bytes(v2(uk)), other, None, NOW)) == (
        "unpinned_root"
    )


def test_attacker_root_listed_in_the_manifest_itself_is_not_trusted(uk: UkKeys) -> None:
    attacker = generate("uk", "root")
    forged = manifest(uk, 9, [CurrentKey(uk.report_b.public, 0)], root_listed=attacker)
    assert code_of(lambda: accepted(uk, forged)) == "unpinned_root"


def test_unsigned_manifest_is_refused(uk: UkKeys) -> None:
    body = v2(uk)
    body["signatures"] = {"uk": {}}
    assert code_of(lambda: accepted(uk, body)) == "missing_signature"
    del body["signatures"]
    assert code_of(lambda: accepted(uk, body)) == "missing_signature"


def test_root_rotation_needs_the_new_root_to_be_pinned(uk: UkKeys) -> None:
    rotated = manifest(uk, 4, [CurrentKey(uk.report_b.public, 0)], root_listed=uk.root2)
    assert code_of(lambda: accepted(uk, rotated)) == "unpinned_root"
    both = uk.pins | {uk.root2.public.fingerprint}
    m = verify_manifest(canonical_bytes(rotated), both, None, NOW)
    assert m.signed_by == uk.root2.kid


def test_expired_manifest_is_refused(uk: UkKeys) -> None:
    body = v2(uk)
    assert verify_manifest(body, uk.pins, None, NOW + 5 * DAY).version == 2
    assert code_of(lambda: verify_manifest(body, uk.pins, None, NOW + 6 * DAY)) == "expired"


def test_validity_is_capped_at_seven_days_even_if_signed_longer(uk: UkKeys) -> None:
    body = {k: v for k, v in v2(uk).items() if k != "signatures"}
    body["valid_until"] = body["issued_at"] + 30 * DAY
    signed = sign_manifest(body, uk.root)
    m = verify_manifest(signed, uk.pins, None, NOW)
    assert m.valid_until == body["issued_at"] + MAX_VALIDITY
    late = body["issued_at"] + 8 * DAY
    assert code_of(lambda: verify_manifest(signed, uk.pins, None, late)) == "expired"
    with pytest.raises(ProtocolError):
        build_manifest(
            node="uk",
            version=1,
            issued_at=0,
            valid_until=8 * DAY,
            keys=[CurrentKey(uk.root.public, 0)],
        )


def test_manifest_issued_in_the_future_is_refused(uk: UkKeys) -> None:
    body = manifest(uk, 2, [], issued_at=NOW + 60)
    assert code_of(lambda: accepted(uk, body)) == "not_yet_valid"


def test_kid_that_does_not_match_its_key_is_refused(uk: UkKeys) -> None:
    body = {k: v for k, v in v2(uk).items() if k != "signatures"}
    entry = body["keys"].pop(uk.report_b.kid)
    body["keys"]["ed25519:uk-report-00000000"] = entry
    signed = sign_manifest(body, uk.root)  # signing does not parse; verifying does
    assert code_of(lambda: accepted(uk, signed)) == "bad_manifest"


def test_a_key_of_another_node_is_refused(uk: UkKeys) -> None:
    ca_key = generate("ca", "report")
    with pytest.raises(ProtocolError) as info:
        build_manifest(
            node="uk",
            version=1,
            issued_at=NOW,
            valid_until=NOW + DAY,
            keys=[CurrentKey(uk.root.public, 0), CurrentKey(ca_key.public, 0)],
        )
    assert info.value.code == "bad_manifest"


def test_only_root_keys_sign_manifests(uk: UkKeys) -> None:
    body = {k: v for k, v in v2(uk).items() if k != "signatures"}
    assert code_of(lambda: sign_manifest(body, uk.report_b)) == "wrong_key_use"
    assert code_of(lambda: sign_manifest(body, generate("ca", "root"))) == "bad_manifest"


# --- rollback -------------------------------------------------------------------------------


def test_version_rollback_is_refused(uk: UkKeys) -> None:
    cached = accepted(uk, v2(uk))
    assert code_of(lambda: accepted(uk, v1(uk), cached)) == "rollback"


def test_same_version_with_other_content_is_refused(uk: UkKeys) -> None:
    body = v2(uk)
    cached = accepted(uk, body)
    assert accepted(uk, body, cached).digest == cached.digest  # a refetch is fine
    other = manifest(uk, 2, [CurrentKey(uk.report_b.public, T_ROTATE)])
    assert code_of(lambda: accepted(uk, other, cached)) == "manifest_conflict"


def test_newer_version_replaces_the_cache(uk: UkKeys) -> None:
    assert accepted(uk, v2(uk), accepted(uk, v1(uk))).version == 2


def test_a_revoked_key_can_never_come_back(uk: UkKeys) -> None:
    cached = accepted(uk, v3_revoking_a(uk))
    unrevoked = manifest(
        uk, 4, [CurrentKey(uk.report_b.public, 0)], old=[OldKey(uk.report_a.public, T_ROTATE)]
    )
    assert code_of(lambda: accepted(uk, unrevoked, cached)) == "rollback"


# --- key validity over time -----------------------------------------------------------------


def test_rotation_keeps_old_reports_verifiable(uk: UkKeys) -> None:
    resolve = report_key_resolver({"uk": ManifestView(accepted(uk, v2(uk)))})
    old_report = report_signed(uk.report_a, T_ROTATE - 3600)
    assert verify_envelope(old_report, resolve, NOW).origin_kid == uk.report_a.kid
    new_report = report_signed(uk.report_b, T_ROTATE + 3600)
    assert verify_envelope(new_report, resolve, NOW).origin_kid == uk.report_b.kid


def test_retired_key_cannot_sign_after_its_expiry(uk: UkKeys) -> None:
    resolve = report_key_resolver({"uk": ManifestView(accepted(uk, v2(uk)))})
    late = report_signed(uk.report_a, T_ROTATE)
    assert code_of(lambda: verify_envelope(late, resolve, NOW)) == "expired"


def test_new_key_is_not_valid_before_not_before(uk: UkKeys) -> None:
    resolve = report_key_resolver({"uk": ManifestView(accepted(uk, v2(uk)))})
    early = report_signed(uk.report_b, T_ROTATE - 1)
    assert code_of(lambda: verify_envelope(early, resolve, NOW)) == "not_yet_valid"


def test_revoked_key_is_refused_whatever_the_signing_time(uk: UkKeys) -> None:
    resolve = report_key_resolver({"uk": ManifestView(accepted(uk, v3_revoking_a(uk)))})
    backdated = report_signed(uk.report_a, T_ROTATE - 100 * DAY)
    assert code_of(lambda: verify_envelope(backdated, resolve, NOW)) == "revoked_key"
    assert verify_envelope(report_signed(uk.report_b, NOW), resolve, NOW).iss == "uk"


def test_key_for_checks_use_and_knows_every_kid(uk: UkKeys) -> None:
    view = ManifestView(accepted(uk, v2(uk)))
    assert view.key_for(uk.request.kid, "request", NOW) == uk.request.public
    assert code_of(lambda: view.key_for(uk.request.kid, "report", NOW)) == "wrong_key_use"
    assert code_of(lambda: view.key_for(uk.report_a.kid, "request", 0)) == "wrong_key_use"
    unknown = generate("uk", "report").kid
    assert code_of(lambda: view.key_for(unknown, "report", NOW)) == "unknown_key"


def test_resolvers_refuse_nodes_without_a_manifest(uk: UkKeys) -> None:
    views = {"uk": ManifestView(accepted(uk, v2(uk)))}
    assert code_of(lambda: report_key_resolver(views)("ca", "ed25519:ca-report-00000000", NOW)) == (
        "unknown_key"
    )
    resolve_request = request_key_resolver(views, NOW)
    assert resolve_request("uk", uk.request.kid) == uk.request.public
    assert code_of(lambda: resolve_request("uk", uk.report_b.kid)) == "wrong_key_use"
