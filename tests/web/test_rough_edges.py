"""Rough edges of the pages and the API: 403 and 404 are the site's own pages with its
navigation and log one line without a traceback (500s keep theirs); the provenance API gives
issue times in ISO 8601 like receipt times; received versions name the partner they came
from; a version shows what changed since the previous one the reader may see, and never
draws on one above the clearance; the report page's live fragment keeps asking while delivery
or grouping is pending and stops when settled; values and codes are shown as people read them.
The browser side (390 px, live refresh in Chromium) is tests/browser/test_rough_edges_ui.py."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role
from cases.regroup import drain_batch
from federation.models import Delivery, DeliveryState
from reports.models import Status
from reports.services import record_received_version, revise_report
from web.diffs import word_diff

from .conftest import add_partner, content, html

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# 403 and 404 ---------------------------------------------------------------------------------


def test_a_refused_page_is_the_sites_own_403_with_navigation(client_as: Any) -> None:
    response = client_as(Role.ANALYST, "CONFIDENTIAL").get("/trust/keys/")
    assert response.status_code == 403
    page = html(response)
    assert "You may not open this page" in page
    assert "Your role does not include this page." in page
    assert '<nav aria-label="Main">' in page
    assert 'href="/cases/"' in page
    assert 'href="/reports/"' in page


@pytest.mark.parametrize(
    "path", [f"/reports/{uuid.uuid4()}/", "/no-such-page/", "/cases/999999999/"]
)
def test_a_missing_page_is_the_sites_own_404_with_navigation(client_as: Any, path: str) -> None:
    response = client_as(Role.ANALYST, "SECRET").get(path)
    assert response.status_code == 404
    page = html(response)
    assert "Page not found" in page
    assert '<nav aria-label="Main">' in page
    assert "site-header" in page


def test_a_404_for_someone_signed_out_has_the_header_and_no_account_links(db: Any) -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    page = html(response)
    assert "Page not found" in page
    assert "site-header" in page
    assert '<nav aria-label="Main">' not in page


def test_a_routine_403_logs_one_line_without_a_traceback(client_as: Any, caplog: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/trust/keys/").status_code == 403
        assert client.get(f"/reports/{uuid.uuid4()}/").status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 2
    assert records[0].getMessage() == "Forbidden (Permission denied): /trust/keys/"
    assert records[1].getMessage().startswith("Not Found: /reports/")
    assert all(r.exc_info is None for r in records)
    assert "Traceback" not in caplog.text


def test_a_500_keeps_its_traceback(caplog: Any) -> None:
    logger = logging.getLogger("django.request")
    with caplog.at_level(logging.ERROR, logger="django.request"):
        try:
            raise RuntimeError("invented fault")
        except RuntimeError as exc:
            logger.error("Internal Server Error: /x/", exc_info=exc, extra={"status_code": 500})
    assert caplog.records[-1].exc_info is not None
    assert "RuntimeError: invented fault" in caplog.text


# Provenance API ------------------------------------------------------------------------------


def test_provenance_gives_issue_and_receipt_times_in_iso_8601(
    make_report: Any, make_web_user: Any
) -> None:
    add_partner("uk")
    version = make_report(classification="CONFIDENTIAL")
    answer = _api(make_web_user(Role.ANALYST, "SECRET")).get(
        f"/api/v1/reports/{version.report_id}/provenance/"
    )
    assert answer.status_code == 200
    (release,) = answer.json()["releases"]
    assert isinstance(release["issued_at"], str)
    assert ISO_UTC.match(release["issued_at"]), release["issued_at"]


# Version history: who, and what changed --------------------------------------------------------


def test_a_received_version_names_the_partner_it_came_from(
    client_as: Any, make_report: Any
) -> None:
    version = make_report(origin="uk", title="Invented report from the UK")
    page = html(client_as(Role.ANALYST, "SECRET").get(f"/reports/{version.report_id}/"))
    history = page.split('id="h-history"')[1].split("</section>")[0]
    assert "UK – United Kingdom" in history
    assert "partner" not in history


def _revise(version: Any, number: int, **overrides: Any) -> Any:
    return revise_report(
        author=version.author,
        report_id=version.report_id,
        base_version=number,
        content=content(**overrides),
    )


def test_a_version_shows_what_changed_since_the_previous_one(
    client_as: Any, make_report: Any
) -> None:
    first = make_report(classification="CONFIDENTIAL")
    details = dict(content().details, value_usd=12_000_000, red_flags=["cash_payment"])
    _revise(
        first,
        1,
        title="Invented shipment of H100 SXM via Port Klang",
        summary="Declared for a data centre; onward movement confirmed.",
        tlp="red",
        rel_to=["us", "uk"],
        details=details,
    )
    page = html(client_as(Role.ANALYST, "SECRET").get(f"/reports/{first.report_id}/"))
    changes = page.split('id="h-changes"')[1].split("</section>")[0]
    assert "What changed from v1 to v2" in changes
    assert "<del>Singapore</del>" in changes
    assert "<ins>Port Klang</ins>" in changes
    assert "<del>suspected.</del>" in changes
    assert "<ins>confirmed.</ins>" in changes
    assert "TLP:AMBER" in changes
    assert "TLP:RED" in changes
    assert "FVEY, JP" in changes
    assert "UK, US" in changes
    assert "Declared value (USD)" in changes
    assert "12,000,000" in changes
    assert "Cash payment" in changes
    assert "Category" not in changes  # unchanged fields are not listed
    assert "?version=2#h-changes" in page


def test_a_diff_never_draws_on_a_version_above_the_readers_clearance(
    client_as: Any, make_report: Any
) -> None:
    first = make_report(classification="CONFIDENTIAL", title="Invented public title")
    _revise(first, 1, classification="SECRET", title="Invented secret title words")
    _revise(first, 2, classification="CONFIDENTIAL", title="Invented public title again")
    page = html(client_as(Role.ANALYST, "CONFIDENTIAL").get(f"/reports/{first.report_id}/"))
    assert "What changed from v1 to v3" in page
    assert "secret title words" not in page
    assert "v2" not in page.split('id="h-history"')[1].split("</section>")[0]
    secret_reader = html(client_as(Role.ANALYST, "SECRET").get(f"/reports/{first.report_id}/"))
    assert "What changed from v2 to v3" in secret_reader
    assert "<del>secret</del>" in secret_reader


def test_word_diff_marks_removed_and_added_words() -> None:
    before, after = word_diff("480 chips via Singapore", "480 chips via Port Klang")
    assert [(p.kind, p.text) for p in before] == [
        ("same", "480 chips via "),
        ("removed", "Singapore"),
    ]
    assert [(p.kind, p.text) for p in after] == [
        ("same", "480 chips via "),
        ("added", "Port Klang"),
    ]


# Live delivery status and grouping ---------------------------------------------------------------


def test_the_live_fragment_asks_again_while_pending_and_stops_when_settled(
    client_as: Any, make_report: Any
) -> None:
    add_partner("uk")
    version = make_report(classification="CONFIDENTIAL")
    client = client_as(Role.ANALYST, "SECRET")
    page = html(client.get(f"/reports/{version.report_id}/"))
    assert 'data-live="polling"' in page
    assert 'hx-trigger="every 3s"' in page
    assert "not grouped yet" in page

    live = f"/reports/{version.report_id}/live/"
    pending = html(client.get(live, {"n": "4"}, HTTP_HX_REQUEST="true"))
    assert "?n=5" in pending
    assert "UK: Pending" in pending

    drain_batch(500)
    assert "not grouped yet" not in html(client.get(live))
    Delivery.objects.filter(envelope__report_id=version.report_id).update(
        state=DeliveryState.DELIVERED
    )
    settled = html(client.get(live, {"n": "5"}))
    assert 'data-live="settled"' in settled
    assert "hx-trigger" not in settled
    assert "UK: Delivered" in settled
    assert 'id="report-case" hx-swap-oob="true"' in settled


def test_the_live_fragment_gives_up_after_ten_minutes(client_as: Any, make_report: Any) -> None:
    add_partner("uk")
    version = make_report(classification="CONFIDENTIAL")
    answer = html(client_as().get(f"/reports/{version.report_id}/live/", {"n": "200"}))
    assert 'data-live="stopped"' in answer
    assert "hx-trigger" not in answer
    assert "reload the page" in answer


def test_the_live_fragment_is_scoped_like_the_page(client_as: Any, make_report: Any) -> None:
    version = make_report(classification="SECRET")
    answer = client_as(Role.ANALYST, "CONFIDENTIAL").get(f"/reports/{version.report_id}/live/")
    assert answer.status_code == 404
    assert "Invented shipment" not in html(answer)


def test_drafts_and_withdrawn_reports_are_not_waited_for(client_as: Any, make_report: Any) -> None:
    draft = make_report(status=Status.DRAFT)
    page = html(client_as(Role.RELEASER).get(f"/reports/{draft.report_id}/"))
    assert 'data-live="settled"' in page
    assert "/live/" not in page


# Labels and formatted values ---------------------------------------------------------------------


def test_the_report_page_formats_values_and_names_codes(client_as: Any, make_report: Any) -> None:
    details = dict(
        content().details,
        value_usd=12_000_000,
        intermediaries=[
            {"name": "Invented Jade Gate", "country": "HK", "role": "freight_forwarder"}
        ],
        red_flags=["freight_forwarder_consignee"],
    )
    version = make_report(details=details)
    page = html(client_as().get(f"/reports/{version.report_id}/"))
    main = page.split("<main")[1]
    assert "12,000,000" in main
    assert "12000000" not in main
    assert "Freight forwarder" in main
    assert "Freight forwarder named as consignee" in main
    assert "freight_forwarder" not in main
    assert "chip_diversion" not in main
    assert "(Singapore)" in main  # the consignee's country by name


def test_a_received_report_waits_for_its_case_only(client_as: Any) -> None:
    received = record_received_version(
        report_id=uuid.uuid4(),
        origin="uk",
        version_number=1,
        content=content(title="Invented received report"),
        status=Status.PUBLISHED,
    )
    page = html(client_as().get(f"/reports/{received.report_id}/"))
    assert 'data-live="polling"' in page
    drain_batch(500)
    assert 'data-live="settled"' in html(client_as().get(f"/reports/{received.report_id}/"))
