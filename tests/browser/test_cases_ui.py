"""The triage queue and the case view in a real headless Chromium: the analyst's start page,
keyboard navigation (j / k / Enter), filters swapped in by htmx, a case with reports from two
nodes (one relayed), its route and its score explanation, and a merge picked from the search
box. Screenshots: var/screenshots/14-triage-queue.png and 15-case-view.png."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEntry
from cases.models import Case
from cases.services import regroup_all
from federation.models import Envelope, Receipt
from reports.models import Status
from reports.services import ReportContent, create_report, record_received_version

from .conftest import make_user, shot, sign_in

pytestmark = pytest.mark.browser

SECRET_TITLE = "Invented secret consignment to Pyongyang"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def content(title: str, classification: str, **details: Any) -> ReportContent:
    body: dict[str, Any] = {
        "items": [{"model": "H100 SXM", "quantity": 64}],
        "consignee": {"name": f"Invented consignee of {title}", "country": "SG"},
        "route": ["US", "SG", "CN"],
    }
    body.update(details)
    return ReportContent(
        title=title,
        summary="Invented for the browser tests.",
        category="chip_diversion",
        classification=classification,
        rel_to=["fvey"],
        orcon=False,
        tlp="amber" if classification != "OFFICIAL" else "green",
        source_reliability="B",
        info_credibility=2,
        details=body,
        event_start=date(2026, 9, 1),
        event_end=date(2026, 9, 14),
    )


def build_cases() -> None:
    author = make_user("browser-case-author", Role.RELEASER)
    flags = ["freight_forwarder_consignee", "residential_address", "third_country_payment"]
    shared = {"name": "Invented Lumen Harbor Trading Pte Ltd", "country": "MY"}
    create_report(
        author=author,
        content=content(
            "Invented 480 × H100 via Port Klang",
            "CONFIDENTIAL",
            items=[{"model": "H100 SXM", "quantity": 480, "serials": ["INV-H100-0042"]}],
            consignee=shared,
            route=["US", "SG", "MY", "CN"],
            red_flags=flags,
            intermediaries=[{"name": "Invented Jade Gate Logistics", "country": "HK"}],
            value_usd=14_000_000,
        ),
        status=Status.PUBLISHED,
    )
    with transaction.atomic():
        received = record_received_version(
            report_id=uuid.uuid4(),
            origin="uk",
            version_number=1,
            content=content(
                "Invented serials resurface in Malaysia",
                "CONFIDENTIAL",
                items=[{"model": "H100 SXM", "quantity": 96, "serials": ["INV-H100-0042"]}],
                consignee={"name": "Invented Orchid Supply Chain Ltd", "country": "MY"},
                route=["US", "SG", "MY"],
                red_flags=["cash_payment"],
            ),
            status=Status.PUBLISHED,
        )
        hops = [{"from": "uk", "to": "ca", "at": 1}, {"from": "ca", "to": "us", "at": 2}]
        envelope = Envelope.objects.create(
            report_id=received.report_id,
            ver=1,
            typ="fed.report",
            origin="uk",
            digest=f"sha256:{uuid.uuid4().hex}",
            body={},
            iat=int(timezone.now().timestamp()),
            origin_kid="ed25519:uk-report-2026a",
            received_from="ca",
            hops=hops,
            relay_kids={"ca": ["ed25519:ca-relay-2026a"]},
            local_version=1,
        )
        Receipt.objects.create(envelope=envelope, from_partner="ca", hops=hops)
    create_report(
        author=author,
        content=content(
            "Invented H100 modules declared for Dubai",
            "CONFIDENTIAL",
            items=[{"model": "H100 SXM", "quantity": 32, "serials": ["INV-H100-0042"]}],
            consignee={"name": "Invented Falcon Compute FZE", "country": "AE"},
            route=["US", "AE", "CN"],
        ),
        status=Status.PUBLISHED,
    )
    for n, (level, route, quantity) in enumerate(
        [
            ("OFFICIAL", ["US", "VN"], 8),
            ("RESTRICTED", ["NL", "TH", "CN"], 256),
            ("CONFIDENTIAL", ["US", "HK"], 16),
            ("OFFICIAL", ["JP", "SG"], 4),
            ("RESTRICTED", ["KR", "TW", "HK"], 128),
        ]
    ):
        create_report(
            author=author,
            content=content(
                f"Invented case {n}: {quantity} accelerators",
                level,
                items=[{"model": "H20" if n % 2 else "H100 SXM", "quantity": quantity}],
                route=route,
                red_flags=flags[: n % 3],
            ),
            status=Status.PUBLISHED,
        )
    create_report(
        author=author,
        content=content(SECRET_TITLE, "SECRET", route=["RU", "KP"]),
        status=Status.PUBLISHED,
    )
    regroup_all()


def test_the_triage_queue_and_a_case_from_the_keyboard(page: Any) -> None:
    build_cases()
    analyst = make_user("browser-triage", Role.ANALYST, "CONFIDENTIAL")
    sign_in(page, analyst)
    # the analyst's start page
    expect(page).to_have_url(re.compile(r"/cases/$"))
    expect(page.get_by_role("heading", name="Cases triage queue")).to_be_visible()
    expect(page.get_by_text("6 cases.")).to_be_visible()
    expect(page.get_by_text(SECRET_TITLE)).to_have_count(0)
    expect(page.locator("#banner-top")).to_contain_text("CONFIDENTIAL")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Cases")).to_have_attribute("aria-current", "page")
    bars = page.locator("svg.contrib-bar")
    expect(bars.first).to_be_visible()
    assert (bars.first.get_attribute("aria-label") or "").startswith("Score ")
    ranks = page.locator("table.cases tbody tr td:first-child").all_inner_texts()
    assert ranks == [str(n) for n in range(1, 7)]
    shot(page, "14-triage-queue")
    # keyboard: j / k move between cases, Enter opens one
    links = page.locator("[data-row-link]")
    page.keyboard.press("j")
    expect(links.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(links.nth(0)).to_be_focused()
    top_title = links.nth(0).inner_text()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(top_title)
    expect(page).to_have_url(re.compile(r"/cases/\d+/$"))
    # the top case: three reports from two nodes, one relayed through CA
    reports = page.locator("table.case-reports tbody tr")
    expect(reports).to_have_count(3)
    expect(page.locator("table.case-reports")).to_contain_text("relayed through CA")
    expect(page.locator("table.case-reports")).to_contain_text("UK – United Kingdom")
    expect(page.get_by_text("2 independent origin nodes")).to_be_visible()
    expect(page.locator('path[data-leg="US-SG"]')).to_be_visible()
    expect(page.locator('g[data-country="MY"]')).to_be_visible()
    expect(page.locator("p.explanation-total")).to_contain_text("Score")
    # the explanation is grouped and expandable: a closed group opens on a click
    groups = page.locator("details.explanation-group")
    expect(groups.first).to_be_visible()
    # (by position: once open, a `:not([open])` locator would move on to the next group)
    index = page.eval_on_selector_all(
        "details.explanation-group", "groups => groups.findIndex(g => !g.open)"
    )
    assert index >= 0
    closed = groups.nth(index)
    closed.locator("summary").click()
    expect(closed.locator("table.explanation-lines")).to_be_visible()
    expect(page.locator("#banner-bottom")).to_contain_text("CONFIDENTIAL")
    shot(page, "15-case-view")
    page.go_back()
    # filters swap the results in place (htmx) and keep the URL shareable
    page.get_by_label("Classification").select_option("OFFICIAL")
    expect(page.get_by_text("2 cases match these filters.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"classification=OFFICIAL"))
    expect(page.locator("#banner-top")).to_contain_text("OFFICIAL")
    page.keyboard.press("/")
    expect(page.get_by_label("Title contains")).to_be_focused()
    # the charts: each category's score spread, and a score band's bar opens those cases
    page.goto("/charts/")
    multiples = page.locator(".small-multiple")
    expect(multiples.first).to_be_visible()
    shot(page, "19-risk-by-category")
    chips = page.locator('.small-multiple[data-category="chip_diversion"] svg a')
    title = chips.first.locator("title").text_content() or ""  # e.g. score 60-70: 2 cases
    found = re.match(r"score (\d+)–(\d+): (\d+) case", title)
    assert found is not None
    chips.first.click()
    expect(page).to_have_url(re.compile(rf"min_score={found[1]}"))
    expect(page.locator("table.cases tbody tr")).to_have_count(int(found[3]))


def test_merge_a_case_found_with_the_search_box(page: Any) -> None:
    build_cases()
    analyst = make_user("browser-merger", Role.ANALYST, "SECRET")
    sign_in(page, analyst)
    # case titles describe the case (consignee, chips): find them by a member report's title
    target = Case.objects.get(members__report__title="Invented case 2: 16 accelerators")
    other = Case.objects.get(members__report__title="Invented case 4: 128 accelerators")
    assert target.classification != other.classification  # CONFIDENTIAL and RESTRICTED
    page.goto(f"/cases/{target.pk}/")
    page.get_by_text("Merge…").click()
    search = page.get_by_label("Search cases you may see by title or number")
    search.fill("Invented")
    found = page.locator("#merge-found")
    expect(found).to_contain_text("Cases found")
    expect(found).not_to_contain_text("128 accelerators")  # another level: never offered
    expect(found).not_to_contain_text(SECRET_TITLE)
    # a merge across levels typed by number is refused next to the field
    page.get_by_label("Case numbers to merge into this one").fill(str(other.pk))
    page.get_by_role("button", name=f"Merge into case #{target.pk}").click()
    expect(page.locator(".has-error")).to_contain_text("different classifications")
    same_level = Case.objects.filter(classification=target.classification).exclude(pk=target.pk)
    pick = same_level.order_by("pk").first()
    assert pick is not None
    page.get_by_label("Case numbers to merge into this one").fill("")
    page.get_by_label("Search cases you may see by title or number").fill(f"#{pick.pk}")
    page.locator(f"#merge-case-{pick.pk}").check()
    page.get_by_role("button", name=f"Merge into case #{target.pk}").click()
    expect(page.locator("p.message-success")).to_contain_text(
        f"Cases #{pick.pk} were merged into this case"
    )
    assert not Case.objects.filter(pk=pick.pk).exists()
    assert AuditEntry.objects.filter(action="case.merge", target=str(target.pk)).exists()
