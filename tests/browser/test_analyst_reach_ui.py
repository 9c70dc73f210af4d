"""The analyst's reach in a real headless Chromium: a misspelt name in the search box leads to
the entity page and on to its case; a watched entity notifies when a partner's signed report
arrives through the federation inbox (computed by the real Celery worker, never above the
watcher's clearance), counted in the header and marked read; the queue and report list export
as CSV downloads; the country picker takes "Singapore" as SG. Screenshots:
var/screenshots/16-search.png, 17-entity-page.png, 18-notifications.png."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from accounts.models import Role
from audit.models import AuditEntry
from cases.models import Case
from cases.services import regroup_all
from federation.protocol.canonical import canonical_bytes
from federation.selectors import forget_cached_manifests
from notifications.models import Notification
from notifications.services import watch
from reports.models import Entity, ReportVersion, Status
from reports.services import create_report

from ..federation.partners import INBOX_PATH, JSON, batch, chip_payload, register_partner
from ..support.processes import database_url, procfile_commands, running, wait_for_text
from .conftest import fill_chip_report, make_user, shot, sign_in
from .test_cases_ui import SECRET_TITLE, build_cases, content

pytestmark = pytest.mark.browser

CONSIGNEE = "Invented Harbourfront Logistics Pte Ltd"
SECRET_SIGHTING = "Invented northern bureau order"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def consignee_reports() -> dict[str, ReportVersion]:
    """Two CONFIDENTIAL reports naming the consignee (one case: they share a serial) and a
    SECRET one naming it too."""
    author = make_user("browser-reach-author", Role.RELEASER)
    made = {}
    for key, title, level, serial in [
        ("first", "Invented 240 × H100 to a Harbourfront warehouse", "CONFIDENTIAL", "INV-HF-1"),
        ("second", "Invented Harbourfront serials resurface", "CONFIDENTIAL", "INV-HF-1"),
        ("secret", SECRET_SIGHTING, "SECRET", "INV-HF-9"),
    ]:
        made[key] = create_report(
            author=author,
            content=content(
                title,
                level,
                items=[{"model": "H100 SXM", "quantity": 240, "serials": [serial]}],
                consignee={"name": CONSIGNEE, "country": "SG"},
            ),
            status=Status.PUBLISHED,
        )
    regroup_all()
    return made


def test_a_misspelt_name_leads_to_the_entity_and_its_case(page: Any) -> None:
    made = consignee_reports()
    case = Case.objects.get(members__report_id=made["first"].report_id)
    analyst = make_user("browser-searcher", Role.ANALYST, "CONFIDENTIAL")
    sign_in(page, analyst)
    page.get_by_label("Search reports, entities, serials").fill("harbourfrnt logistcs")
    page.get_by_label("Search reports, entities, serials").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=harbourfrnt"))
    results = page.locator("#results")
    expect(results).to_contain_text("2 reports match")
    expect(results).not_to_contain_text(SECRET_SIGHTING)
    expect(page.locator("#banner-top")).to_contain_text("CONFIDENTIAL")
    shot(page, "16-search")
    page.locator("[data-entity-link]", has_text=CONSIGNEE).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONSIGNEE)
    expect(page.get_by_text("Consignee (2)")).to_be_visible()
    reports = page.locator("section[aria-labelledby=h-entity-reports] [data-row-link]")
    expect(reports).to_have_count(2)
    expect(page.locator("main")).not_to_contain_text(SECRET_SIGHTING)
    shot(page, "17-entity-page")
    page.locator("[data-case-link]").click()
    expect(page).to_have_url(re.compile(rf"/cases/{case.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.title)
    expect(page.locator("table.case-reports tbody tr")).to_have_count(2)


def _receive_from_partner(live_server: Any) -> list[dict[str, Any]]:
    """The UK pushes two signed reports naming the consignee (CONFIDENTIAL and SECRET) to the
    live server's inbox over HTTP, as a partner does; returns the inbox's per-item results."""
    forget_cached_manifests()  # a manifest cached by an earlier test has other keys
    uk = register_partner("uk")
    envelopes = []
    for title, level, serial in [
        ("Invented port call in Klang", "CONFIDENTIAL", "INV-HF-2"),
        (f"{SECRET_SIGHTING} (UK)", "SECRET", "INV-HF-3"),
    ]:
        details = chip_payload()["details"]
        details.update(
            items=[{"model": "H100 SXM", "quantity": 96, "serials": [serial]}],
            consignee={"name": CONSIGNEE, "country": "SG"},
        )
        envelopes.append(
            uk.report_envelope(
                classification=level, payload=chip_payload(title=title, details=details)
            )
        )
    body = canonical_bytes(batch(*envelopes))
    answer = requests.post(
        f"{live_server.url}{INBOX_PATH}",
        data=body,
        headers={**uk.sign_request(body), "Content-Type": JSON},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def _run_notification_task(tmp_path: Path) -> None:
    """The notification task, run by a real Celery worker on the test database."""
    from notifications.tasks import compute_and_send

    log = tmp_path / "worker.log"
    env = {"WORKER_CONCURRENCY": "1", "DATABASE_URL": database_url(connection.settings_dict)}
    with running(procfile_commands()["worker"], env, log):
        wait_for_text(log, "ready.")
        compute_and_send.delay().get(timeout=120)


def test_a_watched_entity_notifies_when_a_partner_report_arrives(
    page: Any, live_server: Any, tmp_path: Path
) -> None:
    consignee_reports()
    entity = Entity.objects.get(kind="organisation", normalized_name=CONSIGNEE.lower())
    analyst = make_user("browser-watcher", Role.ANALYST, "CONFIDENTIAL")
    cleared = make_user("browser-secret-watcher", Role.ANALYST, "SECRET")
    watch(cleared, "entity", str(entity.pk))  # the SECRET report does notify someone cleared
    sign_in(page, analyst)
    page.goto(f"/entities/{entity.pk}/")
    page.get_by_role("button", name="Watch this entity").click()
    expect(page.locator("p.message-success")).to_contain_text(f"Watching {CONSIGNEE}")
    expect(page.locator(".page-head")).to_contain_text("Watched")
    expect(page.locator("#notification-count .badge")).to_have_count(0)

    results = _receive_from_partner(live_server)
    assert [result["result"] for result in results] == ["accepted", "accepted"], results
    assert not Notification.objects.exists()  # the inbox does not notify: the task does
    _run_notification_task(tmp_path)

    assert Notification.objects.filter(user=cleared).count() == 2
    page.reload()
    counter = page.locator("#notification-count .badge")
    expect(counter).to_have_text("1")
    expect(counter).to_have_attribute("aria-label", "1 unread")
    page.locator("#notification-count").click()
    listed = page.locator("ul.notifications li")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Invented port call in Klang (UK, new report)")
    expect(page.locator("main")).not_to_contain_text(SECRET_SIGHTING)
    expect(page.locator("#banner-top")).to_contain_text("CONFIDENTIAL")  # titles are marked
    shot(page, "18-notifications")
    listed.first.get_by_role("button", name="Mark read").click()
    expect(page.locator("#notification-count .badge")).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_contain_text("0 unread")
    page.get_by_role("link", name=re.compile("Invented port call in Klang")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invented port call in Klang")
    note = Notification.objects.get(user=analyst)
    assert note.read_at is not None


def _download(page: Any) -> tuple[str, list[list[str]]]:
    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    return download.suggested_filename, list(csv.reader(io.StringIO(text)))


def test_the_queue_and_the_report_list_download_as_csv(page: Any) -> None:
    build_cases()
    analyst = make_user("browser-exporter", Role.ANALYST, "CONFIDENTIAL")
    sign_in(page, analyst)
    expect(page.get_by_text("6 cases.")).to_be_visible()
    shown = page.locator("[data-row-link]").all_inner_texts()
    name, rows = _download(page)
    assert re.fullmatch(r"cases-\d{8}T\d{6}Z\.csv", name)
    assert rows[0] == ["CONFIDENTIAL (highest classification in this export)", "exported from US"]
    assert rows[1][:5] == ["case", "rank", "classification", "score", "title"]
    assert [row[4] for row in rows[2:]] == shown  # the queue's cases, in the queue's order
    assert SECRET_TITLE not in str(rows)
    assert AuditEntry.objects.filter(action="case.export", actor=analyst.username).count() == 1
    # a filter swapped in by htmx changes what the link exports
    page.get_by_label("Classification").select_option("OFFICIAL")
    expect(page.get_by_text("2 cases match these filters.")).to_be_visible()
    _, official = _download(page)
    assert official[0][0] == "OFFICIAL (highest classification in this export)"
    assert [row[2] for row in official[2:]] == ["OFFICIAL", "OFFICIAL"]
    page.goto("/reports/?classification=RESTRICTED")
    expect(page.get_by_text("2 reports match these filters.")).to_be_visible()
    name, listed = _download(page)
    assert name.startswith("reports-")
    assert listed[0][0] == "RESTRICTED (highest classification in this export)"
    assert sorted(row[4] for row in listed[2:]) == [
        "Invented case 1: 256 accelerators",
        "Invented case 4: 128 accelerators",
    ]


def test_the_country_picker_takes_singapore_as_sg(page: Any) -> None:
    analyst = make_user("browser-picker", Role.ANALYST, "CONFIDENTIAL")
    sign_in(page, analyst)
    page.goto("/reports/new/")
    expect(page.locator('datalist#countries option[value="Singapore"]')).to_have_count(1)
    fill_chip_report(
        page,
        "Invented consignment for a Singapore reseller",
        "Invented: declared for a local data centre.",
        "H100 SXM",
        16,
    )
    page.locator("#f-details-consignee-name").fill("Invented Lion City Compute Pte Ltd")
    country = page.locator("#f-details-consignee-country")
    country.fill("Singapur")  # no such country: refused naming what was typed, kept
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#error-summary")).to_contain_text("“Singapur” is not a country we know")
    expect(country).to_have_value("Singapur")
    country.fill("Singapore")
    page.get_by_label("Route").fill("United States, Singapore, Malaysia")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Version 1 saved")).to_be_visible()
    version = ReportVersion.objects.get()
    assert version.details["consignee"]["country"] == "SG"  # never SI (Slovenia)
    assert version.details["route"] == ["US", "SG", "MY"]
    facts = page.locator("dl.facts")
    expect(facts.first).to_contain_text("MY, SG, US")
    expect(page.locator("main")).to_contain_text("Invented Lion City Compute Pte Ltd")
    expect(page.locator("main")).not_to_contain_text("Slovenia")
