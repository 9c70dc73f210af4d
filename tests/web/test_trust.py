"""Trust console: partners (onboarding against the fetched manifest, suspend and resume),
policies with a release simulator and two-administrator approval, keys, federation health."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Role
from audit.models import AuditEntry
from core.markings import Classification
from federation.models import (
    Delivery,
    DeliveryState,
    KeyStatus,
    KeyUse,
    ManifestPush,
    OwnKey,
    Partner,
    PartnerPolicy,
    PartnerStatus,
    Refusal,
)
from federation.protocol.canonical import canonical_bytes
from federation.services.keys import ensure_keys
from federation.services.partners import set_policy
from tests.federation.partners import new_partner
from web.models import PolicyChange, PolicyChangeState

from .conftest import add_partner, html, signed_in


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


@pytest.fixture(autouse=True)
def partners_resolve_to_a_public_address(monkeypatch: Any) -> None:
    """The invented partner hosts (*.partner.invalid) resolve, here, to a public address, so
    onboarding's address check passes; nothing connects (fetches are replaced by the tests)."""
    import socket

    real = socket.getaddrinfo

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".partner.invalid"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("81.2.69.160", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr("federation.services.partners.socket.getaddrinfo", fake)


@pytest.fixture
def admins(make_web_user: Any) -> tuple[Any, Any]:
    return make_web_user(Role.TRUST_ADMIN, "SECRET"), make_web_user(Role.TRUST_ADMIN, "SECRET")


@pytest.mark.parametrize(
    "url",
    ["/trust/partners/", "/trust/partners/new/", "/trust/keys/", "/trust/health/"],
)
@pytest.mark.parametrize("role", [Role.ANALYST, Role.RELEASER, Role.AUDITOR])
def test_only_trust_admins_open_the_console(client_as: Any, role: str, url: str) -> None:
    assert client_as(role).get(url).status_code == 403


def test_partners_are_listed_and_suspended_or_resumed(admins: Any) -> None:
    add_partner("uk")
    client = signed_in(admins[0])
    page = html(client.get("/trust/partners/"))
    assert "UK – United Kingdom" in page
    assert "Suspend UK" in page
    client.post("/trust/partners/uk/status/", {"status": "suspended"})
    assert Partner.objects.get(code="uk").status == PartnerStatus.SUSPENDED
    assert "Resume UK" in html(client.get("/trust/partners/"))
    client.post("/trust/partners/uk/status/", {"status": "active"})
    assert Partner.objects.get(code="uk").status == PartnerStatus.ACTIVE
    assert actions()[-2:] == ["partner.suspend", "partner.resume"]


def test_a_resumed_partner_is_owed_what_was_published_while_it_was_suspended(
    admins: Any, make_web_user: Any
) -> None:
    from reports.services import create_report

    from .conftest import content

    add_partner("uk")
    client = signed_in(admins[0])
    client.post("/trust/partners/uk/status/", {"status": "suspended"})
    releaser = make_web_user(Role.RELEASER, "SECRET")
    during = create_report(
        author=releaser, content=content(classification="OFFICIAL"), status="published"
    )
    owed = Delivery.objects.filter(partner__code="uk", envelope__report_id=during.report_id)
    assert not owed.exists()  # nothing is sent to a suspended partner

    client.post("/trust/partners/uk/status/", {"status": "active"})

    assert list(owed.values_list("state", flat=True)) == [DeliveryState.PENDING]
    client.post("/trust/partners/uk/status/", {"status": "active"})  # resuming twice owes once
    assert owed.count() == 1


def test_onboarding_compares_fingerprints_before_confirming(admins: Any, monkeypatch: Any) -> None:
    fake = new_partner("nz")
    manifest = canonical_bytes(fake.manifest())
    monkeypatch.setattr("federation.client.fetch_manifest", lambda url, timeout=None: manifest)
    client = signed_in(admins[0])
    entered = fake.root.public.fingerprint
    data = {"code": "nz", "base_url": "http://nz.partner.invalid", "fingerprint": entered}
    check = html(client.post("/trust/partners/new/", {**data, "_action": "check"}))
    grouped = " ".join(entered[i : i + 4] for i in range(0, 64, 4))
    assert check.count(grouped) == 2  # typed and fetched, side by side
    assert "The fingerprints match" in check
    assert "Confirm and add NZ" in check
    assert not Partner.objects.filter(code="nz").exists()
    done = client.post("/trust/partners/new/", {**data, "_action": "confirm"})
    assert done.status_code == 302
    partner = Partner.objects.get(code="nz")
    assert partner.status == PartnerStatus.SUSPENDED  # nothing flows until a policy is approved
    assert partner.root_fingerprints == [entered]
    assert PartnerPolicy.objects.get(partner=partner).tlp_allowed == ["clear"]
    assert "partner.introduce" in actions()


def test_onboarding_refuses_a_mismatched_fingerprint(admins: Any, monkeypatch: Any) -> None:
    fake = new_partner("nz")
    manifest = canonical_bytes(fake.manifest())
    monkeypatch.setattr("federation.client.fetch_manifest", lambda url, timeout=None: manifest)
    client = signed_in(admins[0])
    data = {
        "code": "nz",
        "base_url": "http://nz.partner.invalid",
        "fingerprint": "ab" * 32,
        "_action": "confirm",
    }
    page = html(client.post("/trust/partners/new/", data))
    assert "The fingerprints do not match" in page
    assert "Confirm and add" not in page
    assert not Partner.objects.filter(code="nz").exists()


def test_onboarding_reports_an_unreachable_partner(admins: Any, monkeypatch: Any) -> None:
    from federation.client import PartnerUnreachable

    def down(url: str, timeout: object = None) -> bytes:
        raise PartnerUnreachable("ConnectionError: refused")

    monkeypatch.setattr("federation.client.fetch_manifest", down)
    data = {"code": "nz", "base_url": "http://nz.partner.invalid", "fingerprint": "ab" * 32}
    page = html(signed_in(admins[0]).post("/trust/partners/new/", data))
    assert "no valid key manifest could be fetched from that URL" in page
    assert "refused" not in page  # what answered (or did not) is never echoed
    assert "Confirm and add" not in page


@pytest.fixture
def flowing(make_report: Any) -> dict[str, Any]:
    """uk (ceiling CONFIDENTIAL) gets the CONFIDENTIAL reports, not the SECRET one."""
    add_partner("uk", ceiling="CONFIDENTIAL")
    return {
        "secret": make_report(classification="SECRET", rel_to=["fvey"], title="Secret chip report"),
        "chips": make_report(classification="CONFIDENTIAL", rel_to=["fvey"], title="Chip report"),
        "ai": make_report(
            classification="CONFIDENTIAL",
            rel_to=["fvey"],
            category="military_ai",
            title="Military AI report",
            details={"organisation": {"name": "Invented Lab"}, "capability": "targeting"},
        ),
    }


def policy_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"ceiling": "CONFIDENTIAL", "reason": "Accreditation raised"}
    data.update(overrides)
    return data


def test_the_simulator_shows_what_starts_and_stops_flowing(admins: Any, flowing: Any) -> None:
    client = signed_in(admins[0])
    raised = html(
        client.post(
            "/trust/partners/uk/policy/simulate/",
            policy_form(ceiling="SECRET", categories=["chip_diversion"]),
        )
    )
    start, stop = raised.split("Would stop flowing")
    assert "Secret chip report" in start
    assert "Military AI report" in stop
    assert "Military-AI development is not among the categories shared with UK" in stop
    assert "military_ai" not in stop
    assert "Unchanged: 1 keep flowing" in raised
    assert "banner-secret" in raised  # the fragment names a SECRET report
    assert PartnerPolicy.objects.get(partner__code="uk").ceiling == 3  # nothing saved


def test_the_simulator_leaves_out_reports_above_the_admins_clearance(
    make_web_user: Any, flowing: Any
) -> None:
    admin = make_web_user(Role.TRUST_ADMIN, "CONFIDENTIAL")
    page = html(
        signed_in(admin).post("/trust/partners/uk/policy/simulate/", policy_form(ceiling="SECRET"))
    )
    assert "Secret chip report" not in page
    assert "Would start flowing (0)" in page
    assert "banner-secret" not in page


def test_a_change_needs_a_second_administrator(admins: Any, flowing: Any) -> None:
    first, second = signed_in(admins[0]), signed_in(admins[1])
    proposed = first.post(
        "/trust/partners/uk/policy/", policy_form(ceiling="SECRET", _action="propose")
    )
    assert proposed.status_code == 302
    change = PolicyChange.objects.get()
    policy = PartnerPolicy.objects.get(partner__code="uk")
    assert change.state == PolicyChangeState.PENDING
    assert policy.ceiling == 3
    page = html(first.get("/trust/partners/uk/policy/"))
    assert "another trust administrator must approve it" in page
    assert "Approve and apply" not in page
    # the proposer's own approval is refused
    first.post(f"/trust/partners/uk/policy/changes/{change.pk}/", {"decision": "approve"})
    change.refresh_from_db()
    assert change.state == PolicyChangeState.PENDING
    assert "A second administrator must approve" in html(first.get("/trust/partners/uk/policy/"))
    # the second administrator sees the simulation of the pending change and approves it
    pending = html(second.get("/trust/partners/uk/policy/"))
    assert "Approve and apply" in pending
    assert "Secret chip report" in pending
    assert pending.count("banner banner-secret") == 2
    second.post(f"/trust/partners/uk/policy/changes/{change.pk}/", {"decision": "approve"})
    change.refresh_from_db()
    policy.refresh_from_db()
    assert change.state == PolicyChangeState.APPROVED
    assert change.decided_by == admins[1]
    assert policy.ceiling == 4
    assert change.applied_version == policy.version == 2
    # set_policy reconciled: the SECRET report is now owed to uk
    owed = Delivery.objects.filter(
        partner__code="uk", envelope__report_id=flowing["secret"].report_id
    )
    assert owed.exists()
    assert [a for a in actions() if a.startswith("policy.")] == ["policy.propose", "policy.approve"]


def test_the_database_refuses_an_approval_by_the_proposer(admins: Any, flowing: Any) -> None:
    signed_in(admins[0]).post(
        "/trust/partners/uk/policy/", policy_form(ceiling="SECRET", _action="propose")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyChange.objects.update(state=PolicyChangeState.APPROVED, decided_by=admins[0])


def test_one_pending_change_per_partner(admins: Any, flowing: Any) -> None:
    client = signed_in(admins[0])
    client.post("/trust/partners/uk/policy/", policy_form(ceiling="SECRET", _action="propose"))
    again = client.post(
        "/trust/partners/uk/policy/", policy_form(ceiling="OFFICIAL", _action="propose")
    )
    assert again.status_code == 400
    assert "already waiting for approval" in html(again)
    assert PolicyChange.objects.count() == 1


def test_a_proposal_needs_a_reason_and_a_difference(admins: Any, flowing: Any) -> None:
    client = signed_in(admins[0])
    no_reason = client.post(
        "/trust/partners/uk/policy/", policy_form(reason="", _action="propose", ceiling="SECRET")
    )
    assert no_reason.status_code == 400
    assert "Say why" in html(no_reason)
    same = client.post("/trust/partners/uk/policy/", policy_form(_action="propose"))
    assert "nothing would change" in html(same)
    assert PolicyChange.objects.count() == 0


def test_a_change_overtaken_by_another_becomes_stale(admins: Any, flowing: Any) -> None:
    signed_in(admins[0]).post(
        "/trust/partners/uk/policy/", policy_form(ceiling="SECRET", _action="propose")
    )
    from core.markings import Classification

    set_policy(Partner.objects.get(code="uk"), ceiling=Classification.OFFICIAL)
    change = PolicyChange.objects.get()
    signed_in(admins[1]).post(
        f"/trust/partners/uk/policy/changes/{change.pk}/", {"decision": "approve"}
    )
    change.refresh_from_db()
    assert change.state == PolicyChangeState.STALE
    assert PartnerPolicy.objects.get(partner__code="uk").ceiling == 1


def test_rejection_and_withdrawal(admins: Any, flowing: Any) -> None:
    first, second = signed_in(admins[0]), signed_in(admins[1])
    first.post("/trust/partners/uk/policy/", policy_form(ceiling="SECRET", _action="propose"))
    change = PolicyChange.objects.get()
    second.post(
        f"/trust/partners/uk/policy/changes/{change.pk}/", {"decision": "reject", "note": "no"}
    )
    change.refresh_from_db()
    assert change.state == PolicyChangeState.REJECTED
    first.post("/trust/partners/uk/policy/", policy_form(ceiling="OFFICIAL", _action="propose"))
    mine = PolicyChange.objects.get(state=PolicyChangeState.PENDING)
    first.post(f"/trust/partners/uk/policy/changes/{mine.pk}/", {"decision": "reject"})
    mine.refresh_from_db()
    assert mine.state == PolicyChangeState.WITHDRAWN
    history = html(first.get("/trust/partners/uk/policy/"))
    assert "Rejected" in history
    assert "Withdrawn by the proposer" in history


def test_keys_rotate_and_revoke(admins: Any, django_capture_on_commit_callbacks: Any) -> None:
    ensure_keys()
    client = signed_in(admins[0])
    page = html(client.get("/trust/keys/"))
    assert "ed25519:us-root-" in page
    assert "Rotate the report-signing key" in page
    old = OwnKey.objects.get(use=KeyUse.REPORT, status=KeyStatus.CURRENT)
    client.post("/trust/keys/rotate/", {"use": "report"})
    old.refresh_from_db()
    assert old.status == KeyStatus.RETIRED
    new = OwnKey.objects.get(use=KeyUse.REPORT, status=KeyStatus.CURRENT)
    client.post("/trust/keys/revoke/", {"kid": new.kid, "reason": "laptop lost"})
    new.refresh_from_db()
    assert new.status == KeyStatus.REVOKED
    assert new.revoked_reason == "laptop lost"
    root = OwnKey.objects.get(use=KeyUse.ROOT)
    client.post("/trust/keys/revoke/", {"kid": root.kid, "reason": "try"})
    root.refresh_from_db()
    assert root.status == KeyStatus.CURRENT
    assert [a for a in actions() if a.startswith("key.")] == ["key.rotate", "key.revoke"]
    assert "revoked" in html(client.get("/trust/keys/"))


def test_partner_manifests_are_listed_with_version_and_expiry(admins: Any) -> None:
    from tests.federation.partners import register_partner

    register_partner("uk")
    page = html(signed_in(admins[0]).get("/trust/keys/"))
    assert "ed25519:uk-report-" in page
    assert "<td>1</td>" in page


def test_health_shows_queues_dead_letters_and_refusals(admins: Any, flowing: Any) -> None:
    Delivery.objects.filter(envelope__report_id=flowing["chips"].report_id).update(
        state=DeliveryState.DEAD, last_error="refused: not_entitled: test"
    )
    Refusal.objects.create(
        partner="uk", code="not_entitled", reason="Invented refusal", leak_suspected=True
    )
    client = signed_in(admins[0])
    page = html(client.get("/trust/health/"))
    assert 'data-queue="uk">1<' in page
    assert 'data-dead="uk">1<' in page
    assert "refused: not_entitled: test" in page
    assert "Invented refusal" in page
    client.post("/trust/health/uk/replay/", {})
    assert Delivery.objects.filter(state=DeliveryState.DEAD).count() == 0
    assert "federation.replay" in actions()


def test_anonymous_requests_never_push_a_partner_s_refusal_off_the_health_page(
    admins: Any, client: Any
) -> None:
    from federation.models import AnonymousRefusal
    from federation.selectors import forget_cached_manifests
    from tests.federation.partners import batch, forget_anonymous_allowance, register_partner

    forget_cached_manifests()
    forget_anonymous_allowance()
    uk = register_partner("uk")
    leaked = uk.report_envelope(rel_to=["uk"])  # REL TO does not name us: not_entitled
    assert uk.post(client, batch(leaked)).json()["results"][0]["code"] == "not_entitled"
    stranger = new_partner("eu")
    for n in range(90):  # more than the 50 refusals the page lists
        path = "/fed/v1/inbox" if n % 2 else "/fed/v1/keys/notify"
        if n % 3:
            answer = client.post(path, b"{}", content_type="application/json")
        else:
            answer = stranger.post(client, b"{}", path=path)
        assert answer.status_code == 401

    page = html(signed_in(admins[0]).get("/trust/health/"))

    assert page.count('data-refusal="not_entitled"') == 1
    assert page.count("<tr data-refusal=") == 1  # only partners' refusals in that table
    rows = AnonymousRefusal.objects.all()
    assert len({(row.code, row.path) for row in rows}) == 4
    assert len(rows) <= 8  # a row per (code, path) from one address an hour (two, at most)
    assert sum(row.count for row in rows) == 90
    assert page.count("<tr data-anonymous=") == len(rows)
    assert f"<td>{max(row.count for row in rows)}</td>" in page
    assert Refusal.objects.count() == 1


def test_health_shows_a_manifest_push_a_partner_has_not_acknowledged(
    admins: Any, flowing: Any
) -> None:
    from federation.services.manifest_push import queue_manifest_pushes

    queue_manifest_pushes(7)
    ManifestPush.objects.filter(partner__code="uk").update(attempts=3, last_error="HTTP 503")
    page = html(signed_in(admins[0]).get("/trust/health/"))
    assert "v7 pending (3 attempts): HTTP 503" in page


def test_health_counts_only_reports_within_the_clearance(make_web_user: Any, flowing: Any) -> None:
    set_policy(
        Partner.objects.get(code="uk"),
        ceiling=__import__("core.markings").markings.Classification.SECRET,
    )
    assert Delivery.objects.filter(partner__code="uk").count() == 3
    low = signed_in(make_web_user(Role.TRUST_ADMIN, "CONFIDENTIAL"))
    page = html(low.get("/trust/health/"))
    assert 'data-queue="uk">2<' in page


def test_health_shows_a_banner_for_the_reports_behind_its_counts(admins: Any, flowing: Any) -> None:
    page = html(signed_in(admins[0]).get("/trust/health/"))
    assert page.count("banner banner-confidential") == 2  # uk is owed two CONFIDENTIAL reports


def test_key_and_policy_changes_from_the_command_line_are_audited(
    db: Any, make_web_user: Any
) -> None:
    from django.core.management import call_command

    from tests.federation.partners import register_partner

    ensure_keys()
    register_partner("uk")
    out = StringIO()
    call_command("federation_keys", "rotate", "--use", "report", stdout=out)
    new_kid = out.getvalue().splitlines()[0].removeprefix("new key ")
    call_command("federation_keys", "revoke", "--kid", new_kid, "--reason", "lost", stdout=out)

    entries = list(AuditEntry.objects.order_by("seq"))
    by_action = {e.action: e for e in entries if e.action in ("key.rotate", "key.revoke")}
    assert set(by_action) == {"key.rotate", "key.revoke"}
    assert all(e.actor.startswith("command:") for e in by_action.values())
    assert by_action["key.revoke"].target == new_kid
    assert by_action["key.revoke"].details["reason"] == "lost"


def test_the_command_line_changes_partners_under_the_consoles_rules(
    db: Any, make_web_user: Any
) -> None:
    from django.core.management import CommandError, call_command

    from tests.federation.partners import register_partner

    register_partner("uk")
    first = make_web_user(Role.TRUST_ADMIN, "SECRET")
    second = make_web_user(Role.TRUST_ADMIN, "SECRET")
    analyst = make_web_user(Role.ANALYST, "SECRET")
    before = PartnerPolicy.objects.get(partner__code="uk")

    def run(*args: str) -> str:
        out = StringIO()
        call_command("federation_partner", *args, stdout=out)
        return out.getvalue()

    with pytest.raises(CommandError, match="trust administrator"):
        run(
            "policy",
            "uk",
            "--ceiling",
            "RESTRICTED",
            "--reason",
            "narrow",
            "--by",
            analyst.username,
        )
    proposed = run(
        "policy", "uk", "--ceiling", "RESTRICTED", "--reason", "narrow it", "--by", first.username
    )
    change = int(proposed.split()[2])
    assert PartnerPolicy.objects.get(partner__code="uk").version == before.version, "a proposal"
    with pytest.raises(CommandError, match="second administrator"):
        run("approve", str(change), "--by", first.username)
    run("approve", str(change), "--by", second.username)
    after = PartnerPolicy.objects.get(partner__code="uk")
    assert after.ceiling == Classification.RESTRICTED
    assert after.version == before.version + 1
    run("suspend", "uk", "--by", second.username)
    assert Partner.objects.get(code="uk").status == "suspended"
    new_root = "ab" * 32
    assert "new root pinned" in run(
        "repin", "uk", "--fingerprint", new_root, "--by", first.username
    )
    repinned = Partner.objects.get(code="uk")
    assert repinned.root_fingerprints == [new_root]
    assert repinned.status == "suspended", "a new root changes nothing else"
    assert PartnerPolicy.objects.get(partner__code="uk").version == after.version
    with pytest.raises(CommandError, match="--by"):
        run("resume", "uk")

    actions = [
        (e.action, e.actor, e.details.get("action"))
        for e in AuditEntry.objects.filter(seq__gt=0).order_by("seq")
        if e.action.startswith(("policy.", "partner.", "refused"))
    ]
    assert actions == [
        ("refused", analyst.username, "policy.propose"),
        ("policy.propose", first.username, None),
        ("refused", first.username, "policy.approve"),
        ("policy.approve", second.username, None),
        ("partner.suspend", second.username, None),
        ("partner.repin", first.username, None),
    ]
