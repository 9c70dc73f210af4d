"""Rough edges, in a real headless Chromium: the main pages fit a 390 px wide phone without
sideways scrolling; the report page updates its delivery status and case by itself while
they are pending and stops asking once settled; 403 and 404 are the site's own pages with its
navigation; a version shows what changed since the previous one. Screenshots:
var/screenshots/20-report-390px.png, 21-case-queue-390px.png,
22-report-live-settled.png, 23-forbidden.png, 24-not-found.png, 25-version-changes-390px.png."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from cases.models import Case
from cases.regroup import drain_batch
from federation.models import Delivery, DeliveryState
from reports.models import ReportVersion, Status
from reports.services import create_report, revise_report

from ..web.conftest import add_partner
from .conftest import make_user, shot, sign_in
from .test_cases_ui import build_cases, content

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def assert_fits(page: Any, path: str, what: str) -> None:
    page.goto(path)
    expect(page.locator("main h1").first).to_be_visible()
    width = page_width(page)
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > 391)
            .filter(e => !e.closest('.table-scroll, .route-chart, table'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
    )
    assert width <= PHONE["width"], f"{what} is {width} px wide at 390 px: {wide}"


def test_the_main_pages_fit_a_390px_screen(page: Any) -> None:
    build_cases()
    drain_batch(500)
    big = ReportVersion.objects.get(title="Invented 480 × H100 via Port Klang")
    case = Case.objects.get(members__report_id=big.report_id)
    analyst = make_user("browser-phone", Role.ANALYST, "SECRET")
    page.set_viewport_size(PHONE)
    sign_in(page, analyst)
    assert_fits(page, "/reports/", "the report list")
    assert_fits(page, f"/reports/{big.report_id}/", "the report page")
    expect(page.locator("main")).to_contain_text("14,000,000")
    shot(page, "20-report-390px")
    assert_fits(page, "/cases/", "the case queue")
    shot(page, "21-case-queue-390px")
    assert_fits(page, f"/cases/{case.pk}/", "the case page")
    assert_fits(page, "/reports/new/", "the editor")
    assert_fits(page, "/search/?q=Invented", "the search page")
    assert_fits(page, "/charts/", "the charts")


def test_the_report_page_updates_delivery_and_case_by_itself(page: Any) -> None:
    add_partner("uk")
    author = make_user("browser-live-author", Role.RELEASER)
    version = create_report(
        author=author,
        content=content(
            "Invented 64 × H100 awaiting delivery",
            "CONFIDENTIAL",
            items=[{"model": "H100 SXM", "quantity": 64, "serials": ["INV-LIVE-1"]}],
        ),
        status=Status.PUBLISHED,
    )
    delivery = Delivery.objects.get(envelope__report_id=version.report_id, partner__code="uk")
    assert delivery.state == DeliveryState.PENDING
    sign_in(page, make_user("browser-live-reader", Role.ANALYST, "SECRET"))
    page.goto(f"/reports/{version.report_id}/")
    expect(page.locator("#report-case")).to_contain_text("not grouped yet")
    expect(page.locator("#report-provenance")).to_contain_text("UK: Pending")
    expect(page.locator("#report-live")).to_have_attribute("data-live", "polling")
    # A mark that a reload would wipe: the page must change without one.
    page.evaluate("window.notReloaded = true")

    # The scoring worker's drain and the outbox's acknowledgement, as they happen.
    drain_batch(500)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.DELIVERED, delivered_at=timezone.now()
    )
    case = Case.objects.get(members__report_id=version.report_id)

    expect(page.locator("#report-case")).to_contain_text(f"#{case.pk}")
    expect(page.locator("#report-provenance")).to_contain_text("UK: Delivered")
    expect(page.locator("#report-live")).to_have_attribute("data-live", "settled")
    assert page.evaluate("window.notReloaded") is True
    shot(page, "22-report-live-settled")

    # Settled: the page stops asking (no request to the live fragment for a while).
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/live/" in r.url else None)
    page.wait_for_timeout(7_000)
    assert asked == []


def test_forbidden_and_not_found_are_the_sites_own_pages(page: Any) -> None:
    sign_in(page, make_user("browser-lost", Role.ANALYST, "CONFIDENTIAL"))
    answer = page.goto("/trust/keys/")
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You may not open this page")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Cases")
    expect(page.locator("main")).to_contain_text("Your role does not include this page")
    shot(page, "23-forbidden")
    answer = page.goto(f"/reports/{uuid.uuid4()}/")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Reports")
    shot(page, "24-not-found")
    page.get_by_role("link", name="Reports", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"/reports/$"))


def test_a_version_shows_what_changed(page: Any) -> None:
    author = make_user("browser-diff-author", Role.RELEASER)
    first = create_report(
        author=author,
        content=content("Invented 96 × H100 via Singapore", "CONFIDENTIAL", value_usd=2_400_000),
        status=Status.PUBLISHED,
    )
    revise_report(
        author=author,
        report_id=first.report_id,
        base_version=1,
        content=content("Invented 96 × H100 via Port Klang", "CONFIDENTIAL", value_usd=3_100_000),
    )
    page.set_viewport_size(PHONE)
    sign_in(page, make_user("browser-diff-reader", Role.ANALYST, "CONFIDENTIAL"))
    page.goto(f"/reports/{first.report_id}/")
    page.locator("[data-compare='2']").click()
    changes = page.locator("section#changes")
    expect(changes.get_by_role("heading", level=2)).to_have_text("What changed from v1 to v2")
    expect(changes.locator("del")).to_have_text("Singapore")
    expect(changes.locator("ins")).to_have_text("Port Klang")
    expect(changes).to_contain_text("2,400,000")
    expect(changes).to_contain_text("3,100,000")
    assert page_width(page) <= PHONE["width"]
    changes.scroll_into_view_if_needed()
    shot(page, "25-version-changes-390px")
