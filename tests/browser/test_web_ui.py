"""The web UI in a real headless Chromium: sign-in with the second factor, writing and
publishing a report with the live release preview, the keyboard-driven report list and the
report view, policy editing with the release simulator and a second administrator's approval.
Screenshots of the main screens go to var/screenshots/."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, TOTPDevice
from core.markings import Classification
from federation.models import PartnerPolicy
from federation.services.partners import introduce_partner, set_status
from reports.models import Report, Status
from reports.services import ReportContent, create_report, record_received_version
from web.models import PolicyChange, PolicyChangeState

from .conftest import PASSWORD, fill_chip_report, make_user, shot, sign_in, sign_out

pytestmark = pytest.mark.browser


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def partner(code: str, ceiling: str, *, suspended: bool = False, **policy: Any) -> None:
    row = introduce_partner(
        code=code,
        base_url=f"http://{code}.partner.invalid",
        root_fingerprint=(code.encode().hex() * 64)[:64],
        ceiling=Classification[ceiling],
        fetch=False,
        **policy,
    )
    if suspended:
        set_status(row, "suspended")


def content(title: str, classification: str, **overrides: Any) -> ReportContent:
    fields: dict[str, Any] = {
        "title": title,
        "summary": "Invented for the browser tests.",
        "category": "chip_diversion",
        "classification": classification,
        "rel_to": ["fvey"],
        "orcon": False,
        "tlp": "amber" if classification != "OFFICIAL" else "green",
        "source_reliability": "B",
        "info_credibility": 2,
        "details": {
            "items": [{"model": "H100 SXM", "quantity": 64}],
            "consignee": {"name": "Invented Meridian Trading Pte Ltd", "country": "SG"},
            "route": ["US", "SG", "MY", "CN"],
        },
    }
    fields.update(overrides)
    return ReportContent(**fields)


def test_sign_in_enrols_the_second_factor(page: Any) -> None:
    user = make_user("browser-analyst", Role.ANALYST, enrolled=False)
    page.goto("/reports/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/reports/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "01-sign-in")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Set up your authenticator")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    shot(page, "02-totp-enrolment")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert secret == TOTPDevice.objects.get(user=user).secret
    page.get_by_label("Six-digit code from your authenticator app").fill(
        pyotp.TOTP(secret).at(timezone.now().timestamp())
    )
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page).to_have_url(re.compile(r"/reports/$"))
    expect(page.get_by_text(f"{user.username} · Analyst")).to_be_visible()
    sign_out(page)
    page.goto("/reports/")
    expect(page).to_have_url(re.compile(r"/login/"))


def test_write_and_publish_a_report_with_the_release_preview(page: Any) -> None:
    partner("uk", "SECRET")
    partner("ca", "CONFIDENTIAL")
    partner("au", "SECRET", suspended=True)
    partner("jp", "SECRET")
    releaser = make_user("browser-releaser", Role.RELEASER)
    sign_in(page, releaser)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New report").click()
    expect(page.get_by_role("heading", name="New report")).to_be_visible()
    fill_chip_report(
        page,
        "Invented H100 consignment via Port Klang",
        "Invented: 64 accelerators declared for a local lab.",
        "H100 SXM",
        64,
    )
    page.get_by_label("Quantity").press("Tab")
    verdict = page.locator("#verdict-detailsitems0")
    expect(verdict).to_contain_text("3A090.a")
    expect(verdict).to_contain_text("64 units = TPP 1,013,184")
    page.locator("#f-details-consignee-name").fill("Invented Meridian Trading Sdn Bhd")
    page.locator("#f-details-consignee-country").fill("MY")
    page.get_by_label("Route").fill("US, SG, MY, CN")
    # markings: SECRET, REL TO FVEY (the preview updates as they change)
    page.get_by_label("Classification").select_option("SECRET")
    page.get_by_label("FVEY (group)").check()
    preview = page.locator("#release-preview")
    expect(preview).to_contain_text("Will receive (1)")
    expect(preview).to_contain_text("UK")
    expect(preview).to_contain_text("SECRET is above CA's accreditation (CONFIDENTIAL)")
    expect(preview).to_contain_text("partner AU is suspended")
    expect(preview).to_contain_text("does not include JP")
    expect(page.locator("#banner-top .banner-secret")).to_be_visible()
    page.get_by_label("Japan").check()
    expect(preview).to_contain_text("Will receive (2)")
    shot(page, "03-report-editor-preview")
    page.get_by_role("button", name="Publish and release").click()
    expect(
        page.get_by_text("Version 1 saved and released to the entitled partners.")
    ).to_be_visible()
    report = Report.objects.get()
    assert report.status == Status.PUBLISHED
    assert report.classification == Classification.SECRET
    expect(page.get_by_role("heading", name="Federation provenance")).to_be_visible()
    expect(page.locator("table.provenance")).to_contain_text("UK: Pending")
    expect(page.locator("table.provenance")).to_contain_text("JP: Pending")
    expect(page.locator("table.provenance")).to_contain_text("verified")
    expect(page.locator("#banner-bottom")).to_contain_text(
        "SECRET // REL TO FVEY, JP, US // TLP:AMBER"
    )
    shot(page, "04-report-view")


def test_errors_keep_what_was_typed(page: Any) -> None:
    releaser = make_user("browser-errors", Role.RELEASER)  # Publish is offered to releasers only
    sign_in(page, releaser)
    page.goto("/reports/new/")
    page.get_by_label("Title").fill("Kept title")
    page.get_by_label("Chip model").fill("H20")
    page.get_by_label("Quantity").fill("many")
    page.get_by_role("button", name="Publish and release").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Write a summary")
    expect(page.locator("#f-details-items-0-quantity-error")).to_contain_text("A valid integer")
    expect(page.get_by_label("Title")).to_have_value("Kept title")
    expect(page.get_by_label("Quantity")).to_have_value("many")
    shot(page, "05-report-editor-errors")


def test_the_report_list_works_from_the_keyboard(page: Any) -> None:
    author = make_user("browser-author", Role.RELEASER)
    for n, level in enumerate(["OFFICIAL", "CONFIDENTIAL", "SECRET", "OFFICIAL"]):
        create_report(
            author=author,
            content=content(f"Invented report {n} ({level.lower()})", level),
            status=Status.PUBLISHED,
        )
    with transaction.atomic():
        record_received_version(
            report_id=uuid.uuid4(),
            origin="uk",
            version_number=1,
            content=content(
                "Invented report from the UK",
                "OFFICIAL",
                category="military_ai",
                details={
                    "organisation": {"name": "Invented Autonomy Lab", "country": "CN"},
                    "capability": "Invented swarm targeting",
                },
            ),
            status=Status.PUBLISHED,
        )
    reader = make_user("browser-reader", Role.ANALYST, "CONFIDENTIAL")
    sign_in(page, reader)
    page.goto("/reports/")
    expect(page.get_by_text("4 reports.")).to_be_visible()
    expect(page.get_by_text("(secret)")).to_have_count(0)  # above the reader's clearance
    expect(page.locator("#banner-top")).to_contain_text("CONFIDENTIAL")
    shot(page, "06-report-list")
    links = page.locator("[data-row-link]")
    page.keyboard.press("j")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(links.nth(0)).to_be_focused()
    first_title = links.nth(0).inner_text()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=first_title)).to_be_visible()
    page.go_back()
    # filters swap the results in place (htmx) and keep the URL shareable
    page.get_by_label("Category").select_option("military_ai")
    expect(page.get_by_text("1 report match these filters.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"category=military_ai"))
    expect(page.locator("#banner-top")).to_contain_text("OFFICIAL")
    page.keyboard.press("/")
    expect(page.locator("main").get_by_label("Search", exact=True)).to_be_focused()


def test_policy_editing_with_the_simulator_and_a_second_admin(page: Any) -> None:
    partner("uk", "CONFIDENTIAL")
    author = make_user("browser-source", Role.RELEASER)
    create_report(
        author=author,
        content=content("Invented secret shipment", "SECRET"),
        status=Status.PUBLISHED,
    )
    create_report(
        author=author,
        content=content(
            "Invented lab report",
            "CONFIDENTIAL",
            category="military_ai",
            details={"organisation": {"name": "Invented Lab"}, "capability": "Invented"},
        ),
        status=Status.PUBLISHED,
    )
    first = make_user("browser-admin-a", Role.TRUST_ADMIN)
    second = make_user("browser-admin-b", Role.TRUST_ADMIN)
    sign_in(page, first)
    expect(page.get_by_role("heading", name="Partners")).to_be_visible()
    shot(page, "07-partners")
    page.get_by_role("link", name="Policy").click()
    page.get_by_label("Accreditation ceiling").select_option("SECRET")
    simulation = page.locator("#simulation")
    expect(simulation).to_contain_text("Would start flowing (1)")
    expect(simulation).to_contain_text("Invented secret shipment")
    page.get_by_label("Military-AI development").check()
    expect(simulation).to_contain_text("Would stop flowing (0)")
    page.get_by_label("AI-chip diversion").check()
    expect(simulation).to_contain_text("Would start flowing (1)")
    page.get_by_label("Military-AI development").uncheck()
    expect(simulation).to_contain_text("Would stop flowing (1)")
    expect(simulation).to_contain_text(
        "Military-AI development is not among the categories shared with UK"
    )
    expect(page.locator("#banner-top .banner-secret")).to_be_visible()
    page.get_by_label("Reason for the change").fill("Invented: UK accreditation raised to SECRET")
    shot(page, "08-policy-simulator")
    page.get_by_role("button", name="Propose for approval").click()
    expect(
        page.get_by_text("another trust administrator must approve it", exact=False).first
    ).to_be_visible()
    assert PartnerPolicy.objects.get(partner__code="uk").ceiling == Classification.CONFIDENTIAL
    sign_out(page)
    sign_in(page, second)
    page.goto("/trust/partners/uk/policy/")
    expect(page.get_by_role("heading", name=re.compile("waits for approval"))).to_be_visible()
    shot(page, "09-policy-approval")
    page.get_by_role("button", name="Approve and apply").click()
    expect(page.get_by_text(re.compile(r"approved: policy v2"))).to_be_visible()
    change = PolicyChange.objects.get()
    assert change.state == PolicyChangeState.APPROVED
    assert PartnerPolicy.objects.get(partner__code="uk").ceiling == Classification.SECRET


def test_other_screens(page: Any) -> None:
    partner("uk", "SECRET")
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    author = make_user("browser-writer", Role.RELEASER)
    for n, (level, category, route) in enumerate(
        [
            ("OFFICIAL", "chip_diversion", ["US", "SG", "CN"]),
            ("CONFIDENTIAL", "chip_diversion", ["US", "AE", "CN"]),
            ("SECRET", "chip_diversion", ["US", "SG", "MY", "CN"]),
            ("RESTRICTED", "chip_diversion", ["NL", "SG", "TH", "CN"]),
        ]
    ):
        create_report(
            author=author,
            content=content(
                f"Invented shipment {n}",
                level,
                category=category,
                details={"items": [{"model": "H20", "quantity": 8}], "route": route},
                event_start=this_month if n % 2 else last_month,
            ),
            status=Status.PUBLISHED,
        )
    admin = make_user("browser-keys", Role.TRUST_ADMIN)
    sign_in(page, admin)
    page.goto("/charts/")
    expect(page.get_by_text("4 reports counted.")).to_be_visible()
    expect(page.locator("rect[data-bar]").first).to_be_visible()
    shot(page, "10-charts")
    # a month's bar opens the reports whose events fall in that month
    bar = page.locator("#c-time ~ svg a").filter(has_text=f"{last_month:%b %Y}: 2 AI-chip")
    bar.click()
    expect(page).to_have_url(re.compile(rf"category=chip_diversion&event_from={last_month}"))
    expect(page.get_by_text("2 reports match these filters.")).to_be_visible()
    page.goto("/trust/keys/")
    expect(page.get_by_role("heading", name="This node's keys")).to_be_visible()
    page.get_by_role("button", name="Rotate the report-signing key").click()
    expect(page.get_by_text("the old one is retired")).to_be_visible()
    shot(page, "11-keys")
    page.goto("/trust/health/")
    expect(page.locator('[data-queue="uk"]')).to_have_text("4")
    shot(page, "12-federation-health")
    sign_out(page)
    auditor = make_user("browser-auditor", Role.AUDITOR)
    sign_in(page, auditor)
    page.goto("/audit/")
    expect(page.get_by_text("Chain intact")).to_be_visible()
    expect(page.locator("table.audit")).to_contain_text("key.rotate")
    shot(page, "13-audit-log")
