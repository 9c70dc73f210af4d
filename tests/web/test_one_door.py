"""One door: every mutation gives the same answer and leaves the same audit entry whichever
door it comes through (web UI, analyst API), for every role and clearance; the Django admin is
not a door at all.

The expected answer comes from one table of rules below, not from either door, so a door that
skips the role check, the clearance check or the audit entry fails its rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role
from audit.models import AuditEntry
from cases.models import Case, CaseStatus
from cases.services import drain_pending
from core.markings import Classification
from federation.models import Partner, PartnerPolicy
from reports.models import Report, ReportVersion
from tests.conftest import chip_report
from web.models import PolicyChange

from .conftest import add_partner, signed_in
from .test_editor import form

pytestmark = pytest.mark.django_db

ROLES = (Role.ANALYST, Role.RELEASER, Role.AUDITOR, Role.TRUST_ADMIN)
CLEARANCES = ("OFFICIAL", "SECRET")
DOORS = ("web", "api")
AUTHORS = {Role.ANALYST, Role.RELEASER}


@dataclass(frozen=True)
class World:
    """What the mutations act on: two SECRET cases of one report each."""

    case_a: int
    case_b: int


@dataclass(frozen=True)
class Mutation:
    name: str
    audit_action: str
    allowed: Callable[[str, str], bool]
    hidden: Callable[[str, str], bool]  # the target is above the clearance: "not found"
    changed: Callable[[World], bool]
    send: Callable[[str, Any, World], int]  # door, client, world -> HTTP status


def _secret_case(make_report: Any, consignee: str, serial: str) -> int:
    version: ReportVersion = make_report(
        classification="SECRET",
        details={
            "items": [{"model": "H100 SXM", "quantity": 480, "serials": [serial]}],
            "consignee": {"name": consignee, "country": "SG"},
            "route": ["US", "SG"],
        },
    )
    drain_pending()
    return Case.objects.get(members__report_id=version.report_id).pk


def _official_body(**overrides: Any) -> dict[str, Any]:
    body = chip_report(**overrides)
    body["markings"]["classification"] = "OFFICIAL"
    return body


def _send_draft(door: str, client: Any, world: World) -> int:
    if door == "api":
        return int(client.post("/api/v1/reports/", _official_body(), format="json").status_code)
    return int(client.post("/reports/new/", form(classification="OFFICIAL")).status_code)


def _send_publish(door: str, client: Any, world: World) -> int:
    if door == "api":
        body = _official_body(status="published")
        return int(client.post("/api/v1/reports/", body, format="json").status_code)
    page = form(classification="OFFICIAL", _action="publish")
    return int(client.post("/reports/new/", page).status_code)


def _send_status(door: str, client: Any, world: World) -> int:
    path = {"api": f"/api/v1/cases/{world.case_a}/status/", "web": f"/cases/{world.case_a}/status/"}
    if door == "api":
        return int(client.post(path[door], {"status": "escalated"}, format="json").status_code)
    return int(client.post(path[door], {"status": "escalated"}).status_code)


def _send_merge(door: str, client: Any, world: World) -> int:
    if door == "api":
        body = {"cases": [world.case_b]}
        answer = client.post(f"/api/v1/cases/{world.case_a}/merge/", body, format="json")
        return int(answer.status_code)
    answer = client.post(f"/cases/{world.case_a}/merge/", {"case_numbers": str(world.case_b)})
    return int(answer.status_code)


def _author_cleared_to_secret(role: str, clearance: str) -> bool:
    return role in AUTHORS and clearance == "SECRET"


def _secret_hidden(role: str, clearance: str) -> bool:
    return clearance != "SECRET"


MUTATIONS = {
    m.name: m
    for m in (
        Mutation(
            "report.draft",
            "report.draft",
            allowed=lambda role, clearance: role in AUTHORS,
            hidden=lambda role, clearance: False,
            changed=lambda world: Report.objects.filter(classification=1).exists(),
            send=_send_draft,
        ),
        Mutation(
            "report.publish",
            "report.publish",
            allowed=lambda role, clearance: role == Role.RELEASER,
            hidden=lambda role, clearance: False,
            changed=lambda world: Report.objects.filter(classification=1).exists(),
            send=_send_publish,
        ),
        Mutation(
            "case.status",
            "case.status",
            allowed=_author_cleared_to_secret,
            hidden=_secret_hidden,
            changed=lambda world: Case.objects.get(pk=world.case_a).status == CaseStatus.ESCALATED,
            send=_send_status,
        ),
        Mutation(
            "case.merge",
            "case.merge",
            allowed=_author_cleared_to_secret,
            hidden=_secret_hidden,
            changed=lambda world: not Case.objects.filter(pk=world.case_b).exists(),
            send=_send_merge,
        ),
    )
}


def _client(door: str, user: Any) -> Any:
    if door == "web":
        return signed_in(user)
    client = APIClient()
    client.force_authenticate(user)
    return client


def _expected(mutation: Mutation, role: str, clearance: str) -> str:
    # The role is checked before the target is looked up: an auditor is refused, not told
    # whether a case exists.
    if role not in AUTHORS and mutation.name.startswith("case."):
        return "refused"
    if mutation.hidden(role, clearance):
        return "not_found"
    return "done" if mutation.allowed(role, clearance) else "refused"


def _observed(status: int, changed: bool) -> str:
    if changed:
        return "done"
    if status == 404:
        return "not_found"
    assert status in (400, 403), f"an unchanged outcome must be a refusal, got HTTP {status}"
    return "refused"


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("clearance", CLEARANCES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_every_door_gives_the_same_answer_and_audit_entry(
    name: str, role: str, clearance: str, door: str, make_report: Any, make_web_user: Any
) -> None:
    mutation = MUTATIONS[name]
    world = World(
        _secret_case(make_report, "Lumen Harbor Trading Pte Ltd", "DOOR-0001"),
        _secret_case(make_report, "Invented Quay Components Sdn Bhd", "DOOR-0002"),
    )
    user = make_web_user(role, clearance)
    client = _client(door, user)  # signing in is audited too: count from here
    before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    status = mutation.send(door, client, world)

    expected = _expected(mutation, role, clearance)
    assert _observed(status, mutation.changed(world)) == expected
    entries = list(AuditEntry.objects.filter(seq__gt=before).order_by("seq"))
    if expected == "done":
        assert [e.action for e in entries] == [mutation.audit_action]
    else:  # refused, or a target above the caller's clearance: "not found" to them
        assert [e.action for e in entries] == ["refused"]
    if expected == "not_found":  # the service, or the web view before it, names the attempt
        assert entries[0].details["action"] == mutation.audit_action
        assert entries[0].details["classification"] == "SECRET"


# --- trust mutations: the trust console and the command line ---------------------------------

TRUST_DOORS = ("web", "command")


def _propose_secret_ceiling(door: str, user: Any, client: Client | None) -> bool:
    """Propose raising partner nz to SECRET; True when the door refused."""
    if client is not None:
        answer = client.post(
            "/trust/partners/nz/policy/",
            {"ceiling": "SECRET", "reason": "door matrix", "_action": "propose"},
        )
        return answer.status_code in (400, 403)
    args = ("policy", "nz", "--ceiling", "SECRET", "--reason", "door matrix")
    return _command_refused(*args, "--by", user.username)


def _suspend(door: str, user: Any, client: Client | None) -> bool:
    if client is not None:
        answer = client.post("/trust/partners/nz/status/", {"status": "suspended"})
        return answer.status_code == 403
    return _command_refused("suspend", "nz", "--by", user.username)


def _command_refused(*args: str) -> bool:
    from io import StringIO

    from django.core.management import CommandError

    try:
        call_command("federation_partner", *args, stdout=StringIO())
    except CommandError:
        return True
    return False


TrustSend = Callable[[str, Any, Client | None], bool]  # door, user, web client -> refused

TRUST_MUTATIONS: dict[str, tuple[TrustSend, Callable[[], bool], str]] = {
    # name: (send, changed, audit action when done)
    "policy.propose": (
        _propose_secret_ceiling,
        lambda: PolicyChange.objects.filter(partner__code="nz").exists(),
        "policy.propose",
    ),
    "partner.status": (
        _suspend,
        lambda: Partner.objects.get(code="nz").status == "suspended",
        "partner.suspend",
    ),
}


def _trust_allowed(name: str, role: str, clearance: str) -> bool:
    if role != Role.TRUST_ADMIN:
        return False
    return name != "policy.propose" or clearance == "SECRET"  # cleared to the ceiling proposed


@pytest.mark.parametrize("door", TRUST_DOORS)
@pytest.mark.parametrize("clearance", CLEARANCES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(TRUST_MUTATIONS))
def test_trust_changes_follow_one_rule_on_the_console_and_the_command_line(
    name: str, role: str, clearance: str, door: str, make_web_user: Any
) -> None:
    send, changed, action = TRUST_MUTATIONS[name]
    add_partner("nz", ceiling="RESTRICTED")
    user = make_web_user(role, clearance)
    client = signed_in(user) if door == "web" else None  # signing in is audited: count after
    before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    refused = send(door, user, client)
    allowed = _trust_allowed(name, role, clearance)
    assert changed() is allowed
    assert refused is not allowed
    actions = list(AuditEntry.objects.filter(seq__gt=before).values_list("action", flat=True))
    assert actions == ([action] if allowed else ["refused"])


# --- the Django admin: a read-only technical window, never a door around the services -------


def _staff(make_web_user: Any, role: str, clearance: str) -> Any:
    user = make_web_user(role, clearance)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_shows_no_content_and_changes_nothing(
    role: str, make_report: Any, make_web_user: Any
) -> None:
    add_partner("nz", ceiling="RESTRICTED")
    make_report(classification="SECRET", title="Invented SECRET consignment")
    client: Client = signed_in(_staff(make_web_user, role, "OFFICIAL"))
    partner = Partner.objects.get(code="nz")
    index = client.get("/admin/")
    if role == Role.TRUST_ADMIN:
        assert index.status_code == 200
        assert b"Partner" in index.content
    else:
        refused = client.get("/admin/", follow=True)
        assert refused.status_code == 403, "only a trust administrator may open the admin"
    for path in ("/admin/reports/report/", "/admin/audit/auditentry/", "/admin/cases/case/"):
        assert client.get(path, follow=True).status_code in (403, 404), path
    change = client.post(
        f"/admin/federation/partner/{partner.pk}/change/",
        {"code": "nz", "name": "New Zealand", "status": "active", "base_url": "https://x"},
    )
    assert change.status_code in (302, 403)
    assert PartnerPolicy.objects.get(partner=partner).ceiling == Classification.RESTRICTED
    assert Partner.objects.get(pk=partner.pk).base_url == partner.base_url
    for path in ("/admin/", "/admin/federation/partner/", "/admin/federation/refusal/"):
        assert b"Invented SECRET consignment" not in client.get(path, follow=True).content


def test_admin_delivery_rows_do_not_name_the_report(make_report: Any, make_web_user: Any) -> None:
    from federation.models import Delivery

    add_partner("uk", ceiling="SECRET")
    version = make_report(classification="SECRET", rel_to=["fvey"])
    delivery = Delivery.objects.get(partner__code="uk")
    client: Client = signed_in(_staff(make_web_user, Role.TRUST_ADMIN, "OFFICIAL"))
    for path in (
        "/admin/federation/delivery/",
        f"/admin/federation/delivery/{delivery.pk}/change/",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert str(version.report_id).encode() not in page.content, path


def test_the_admin_needs_both_sign_in_factors(make_web_user: Any) -> None:
    user = _staff(make_web_user, Role.TRUST_ADMIN, "SECRET")
    client = Client()
    client.force_login(user)  # password only: no second factor in the session
    assert client.get("/admin/").status_code == 302


def test_staff_accounts_are_never_superusers(db: Any) -> None:
    call_command(
        "create_node_user", "invented.admin", "--role", Role.TRUST_ADMIN, "--staff",
        "--password", "correct horse battery staple",
    )  # fmt: skip
    from django.contrib.auth.models import User

    made = User.objects.get(username="invented.admin")
    assert made.is_staff
    assert not made.is_superuser


# --- reads, refusals and what a reader below a version's level is told ---------------------


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_classified_reads_are_audited_on_the_api_as_on_the_web(
    make_report: Any, make_web_user: Any
) -> None:
    version = make_report(classification="SECRET")
    reader = make_web_user(Role.AUDITOR, "SECRET")
    path = f"/api/v1/reports/{version.report_id}/"
    answer = _api(reader).get(path)
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    assert answer["Content-Type"].startswith("application/json")
    assert signed_in(reader).get(f"/reports/{version.report_id}/").status_code == 200
    views = AuditEntry.objects.filter(actor_id=reader.pk, action="report.view")
    assert views.count() == 2
    assert {e.details["classification"] for e in views} == {"SECRET"}


def test_reads_refused_as_not_found_are_audited_on_both_doors(
    make_report: Any, make_web_user: Any
) -> None:
    version = make_report(classification="SECRET")
    case_id = _secret_case(make_report, "Invented Harbour Gate Pte Ltd", "INV-HG-7")
    reader = make_web_user(Role.ANALYST, "OFFICIAL")
    rid = version.report_id
    paths = [
        (signed_in(reader), f"/reports/{rid}/", "report"),
        (_api(reader), f"/api/v1/reports/{rid}/", "report"),
        (signed_in(reader), f"/cases/{case_id}/", "case"),
        (_api(reader), f"/api/v1/cases/{case_id}/", "case"),
    ]
    for client, path, _ in paths:
        assert client.get(path).status_code == 404, path
    refused = list(AuditEntry.objects.filter(actor_id=reader.pk, action="refused").order_by("seq"))
    assert [(e.details["action"], e.target) for e in refused] == [
        (f"{kind}.view", str(rid) if kind == "report" else str(case_id)) for _, _, kind in paths
    ]
    assert {e.details["classification"] for e in refused} == {"SECRET"}
    # ids that do not exist are "not found" too, and leave nothing to tell them apart by
    missing = "00000000-0000-4000-8000-000000000000"
    assert _api(reader).get(f"/api/v1/reports/{missing}/").status_code == 404
    assert signed_in(reader).get("/cases/987654/").status_code == 404
    assert AuditEntry.objects.filter(actor_id=reader.pk, action="refused").count() == 4
    # an auditor below SECRET sees that the attempts happened, not what they were about
    page = signed_in(make_web_user(Role.AUDITOR, "OFFICIAL")).get("/audit/?action=refused")
    assert str(rid)[:30] not in page.content.decode()


def test_the_browsable_api_is_off(make_web_user: Any) -> None:
    answer = signed_in(make_web_user()).get("/api/v1/reports/", HTTP_ACCEPT="text/html")
    assert answer.status_code == 406
    assert b"<html" not in answer.content.lower()


def test_provenance_shows_no_release_of_a_version_above_the_reader(make_web_user: Any) -> None:
    from reports.services import create_report, revise_report

    from .conftest import content

    releaser = make_web_user(Role.RELEASER, "SECRET")
    first = create_report(
        author=releaser, content=content(classification="SECRET"), status="published"
    )
    revise_report(
        author=releaser,
        report_id=first.report_id,
        base_version=1,
        content=content(classification="OFFICIAL"),
        status="published",
    )
    path = f"/api/v1/reports/{first.report_id}/provenance/"
    low = _api(make_web_user(Role.ANALYST, "OFFICIAL")).get(path).json()
    high = _api(make_web_user(Role.ANALYST, "SECRET")).get(path).json()
    assert [r["local_version"] for r in high["releases"]] == [1, 2]
    assert [r["local_version"] for r in low["releases"]] == [2]


def test_an_auditor_below_an_entrys_level_sees_that_it_happened_not_what(
    make_report: Any, make_web_user: Any
) -> None:
    version = make_report(classification="SECRET", title="Invented SECRET consignment")
    reader = make_web_user(Role.ANALYST, "SECRET")
    _api(reader).get(f"/api/v1/reports/{version.report_id}/")
    low = signed_in(make_web_user(Role.AUDITOR, "OFFICIAL")).get("/audit/?action=report.view")
    high = signed_in(make_web_user(Role.AUDITOR, "SECRET")).get("/audit/?action=report.view")
    assert str(version.report_id)[:30] in high.content.decode()
    page = low.content.decode()
    assert "report.view" in page
    assert str(version.report_id)[:30] not in page
    assert "above your clearance" in page


def test_a_ceiling_is_approved_only_by_an_administrator_cleared_to_it(make_web_user: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from web.services import PolicyInput, approve_policy_change, propose_policy_change

    partner = add_partner("nz", ceiling="RESTRICTED")
    proposer = make_web_user(Role.TRUST_ADMIN, "SECRET")
    low = make_web_user(Role.TRUST_ADMIN, "OFFICIAL")
    proposal = PolicyInput(Classification.SECRET, frozenset(), frozenset(), frozenset())
    with pytest.raises(PermissionDenied, match="cleared to SECRET"):
        propose_policy_change(user=low, partner=partner, proposal=proposal, reason="wider")
    change = propose_policy_change(
        user=proposer, partner=partner, proposal=proposal, reason="wider"
    )
    with pytest.raises(PermissionDenied, match="cleared to SECRET"):
        approve_policy_change(user=low, change_id=change.pk)
    assert PartnerPolicy.objects.get(partner=partner).ceiling == Classification.RESTRICTED
    refused = AuditEntry.objects.filter(actor_id=low.pk, action="refused")
    assert [e.details["action"] for e in refused.order_by("seq")] == [
        "policy.propose",
        "policy.approve",
    ]
    approve_policy_change(user=make_web_user(Role.TRUST_ADMIN, "SECRET"), change_id=change.pk)
    assert PartnerPolicy.objects.get(partner=partner).ceiling == Classification.SECRET


def test_a_trust_administrator_defines_a_collection_in_the_admin_through_the_service(
    make_web_user: Any,
) -> None:
    from interop.models import TaxiiCollection

    admin_user = _staff(make_web_user, Role.TRUST_ADMIN, "SECRET")
    answer = signed_in(admin_user).post(
        "/admin/interop/taxiicollection/add/",
        {"title": "Invented chip collection", "can_read": "on", "categories": "chip_diversion"},
    )
    assert answer.status_code == 302, answer.content[:2000]
    made = TaxiiCollection.objects.get(title="Invented chip collection")
    assert made.categories == ["chip_diversion"]
    entry = AuditEntry.objects.get(action="taxii.collection_define")
    assert entry.actor_id == admin_user.pk
    analyst = _staff(make_web_user, Role.ANALYST, "SECRET")
    refused = signed_in(analyst).post(
        "/admin/interop/taxiicollection/add/", {"title": "Another", "can_read": "on"}, follow=True
    )
    assert refused.status_code == 403
    assert TaxiiCollection.objects.filter(title="Another").count() == 0
