"""Report list and report view: scoped by clearance and this node's entitlement in pages and
in htmx fragments alike, with the markings banner at the highest level shown."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Role
from reports.models import Status

from .conftest import html


@pytest.fixture
def mixed(make_report: Any) -> dict[str, Any]:
    """One report at each level, one from a partner, one a partner kept from us, a draft."""
    return {
        "official": make_report(classification="OFFICIAL", tlp="green", title="Alpha official"),
        "confidential": make_report(classification="CONFIDENTIAL", title="Bravo confidential"),
        "secret": make_report(
            classification="SECRET",
            title="Charlie secret",
            category="military_ai",
            details={"organisation": {"name": "Invented Lab", "country": "CN"}, "capability": "x"},
        ),
        "from_uk": make_report(
            origin="uk", classification="OFFICIAL", tlp="green", title="Delta from UK"
        ),
        "not_ours": make_report(
            origin="uk", classification="OFFICIAL", tlp="green", rel_to=["uk"], title="Echo UK only"
        ),
        "draft": make_report(
            status=Status.DRAFT, classification="OFFICIAL", tlp="green", title="Foxtrot draft"
        ),
    }


def test_the_list_shows_only_what_the_clearance_allows(client_as: Any, mixed: Any) -> None:
    page = html(client_as(Role.ANALYST, "OFFICIAL").get("/reports/"))
    assert "Alpha official" in page
    assert "Delta from UK" in page
    for hidden in ("Bravo confidential", "Charlie secret", "Echo UK only", "Foxtrot draft"):
        assert hidden not in page
    assert "2 reports." in page
    assert "banner-official" in page
    assert "banner-secret" not in page


def test_the_banner_is_the_highest_level_on_the_page(client_as: Any, mixed: Any) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get("/reports/"))
    assert "Charlie secret" in page
    assert "4 reports." in page
    assert page.count("banner banner-secret") == 2  # top and bottom
    assert "SECRET (highest classification on this page)" in page


def test_htmx_fragments_are_scoped_too(client_as: Any, mixed: Any) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    response = client.get("/reports/", {"q": "declared"}, headers={"HX-Request": "true"})
    text = html(response)
    assert "<html" not in text  # a fragment
    assert "Bravo confidential" in text
    assert "Charlie secret" not in text
    assert 'hx-swap-oob="true"' in text
    assert "banner-confidential" in text
    # asking for a level above the clearance is refused as a filter and finds nothing above it
    above = html(
        client.get("/reports/", {"classification": "SECRET"}, headers={"HX-Request": "true"})
    )
    assert "Charlie" not in above
    assert "Some filters were ignored" in above


def test_classification_filter_offers_only_levels_up_to_the_clearance(
    client_as: Any, mixed: Any
) -> None:
    page = html(client_as(Role.ANALYST, "RESTRICTED").get("/reports/"))
    assert '<option value="RESTRICTED">' in page
    assert '<option value="SECRET">' not in page
    assert '<option value="CONFIDENTIAL">' not in page


def test_filters_narrow_the_list(client_as: Any, mixed: Any) -> None:
    client = client_as(Role.RELEASER, "SECRET")
    by_category = html(client.get("/reports/", {"category": "military_ai"}))
    assert "Charlie secret" in by_category
    assert "Alpha official" not in by_category
    by_origin = html(client.get("/reports/", {"origin": "uk"}))
    assert "Delta from UK" in by_origin
    assert "Alpha official" not in by_origin
    by_title = html(client.get("/reports/", {"q": "bravo"}))
    assert "Bravo confidential" in by_title
    assert "1 report " in by_title
    by_status = html(client.get("/reports/", {"status": "draft"}))
    assert "Foxtrot draft" in by_status
    assert "Alpha" not in by_status
    by_country = html(client.get("/reports/", {"country": "sg"}))
    assert "Alpha official" in by_country
    assert "Charlie secret" not in by_country
    by_level = html(client.get("/reports/", {"classification": "CONFIDENTIAL"}))
    assert "Bravo confidential" in by_level
    assert "Alpha official" not in by_level


def test_bad_filter_values_are_reported_not_obeyed(client_as: Any, mixed: Any) -> None:
    response = client_as(Role.ANALYST, "SECRET").get("/reports/", {"country": "Singapore"})
    assert response.status_code == 200
    assert "A two-letter ISO code" in html(response)


def test_the_list_pages_newest_first(client_as: Any, make_report: Any) -> None:
    for n in range(27):
        make_report(classification="OFFICIAL", tlp="green", title=f"Report number {n:02d}")
    client = client_as(Role.ANALYST, "OFFICIAL")
    first = html(client.get("/reports/"))
    assert "Report number 26" in first
    assert "Report number 01" not in first
    assert first.index("Report number 26") < first.index("Report number 25")
    assert "Page 1 of 2" in first
    second = html(client.get("/reports/", {"page": 2}))
    assert "Report number 00" in second
    assert "Report number 01" in second
    assert "Report number 26" not in second


def test_rows_are_keyboard_reachable_links(client_as: Any, mixed: Any) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get("/reports/"))
    assert "data-keynav" in page
    assert page.count("data-row-link") == 4
    assert "/static/web/web.js" in page


def test_a_report_above_the_clearance_is_not_found(client_as: Any, mixed: Any) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    assert client.get(f"/reports/{mixed['secret'].report_id}/").status_code == 404
    assert client.get(f"/reports/{mixed['not_ours'].report_id}/").status_code == 404
    assert client.get(f"/reports/{mixed['draft'].report_id}/").status_code == 404


def test_the_report_view_shows_markings_details_entities_and_provenance(
    client_as: Any, make_report: Any
) -> None:
    from .conftest import add_partner

    add_partner("uk")
    version = make_report(classification="SECRET", rel_to=["fvey"], orcon=True)
    page = html(client_as(Role.ANALYST, "SECRET").get(f"/reports/{version.report_id}/"))
    assert page.count("SECRET // REL TO FVEY // ORCON // TLP:AMBER") >= 3  # banners + line
    assert "banner-secret" in page
    assert "US → SG → MY → CN" in page
    assert "3A090.a" in page  # H100 SXM verdict
    assert "Lumen Harbor Trading Pte Ltd" in page  # consignee, also as an entity
    assert "Federation provenance" in page
    assert "verified" in page
    assert "UK: Pending" in page  # owed to the entitled partner
    assert "ed25519:us-report-" in page  # signing key


def test_older_versions_above_the_clearance_are_hidden(client_as: Any, make_web_user: Any) -> None:
    from reports.services import create_report, revise_report

    from .conftest import content

    releaser = make_web_user(Role.RELEASER, "SECRET")
    first = create_report(
        author=releaser,
        content=content(classification="SECRET", title="Was secret"),
        status=Status.PUBLISHED,
    )
    revise_report(
        author=releaser,
        report_id=first.report_id,
        base_version=1,
        content=content(classification="CONFIDENTIAL", title="Now confidential"),
    )
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    page = html(client.get(f"/reports/{first.report_id}/"))
    assert "Now confidential" in page
    assert "Was secret" not in page
    assert "?version=1" not in page
    assert client.get(f"/reports/{first.report_id}/?version=1").status_code == 404


def test_received_reports_are_read_only(client_as: Any, mixed: Any) -> None:
    client = client_as(Role.RELEASER, "SECRET")
    page = html(client.get(f"/reports/{mixed['from_uk'].report_id}/"))
    assert "Edit (new version)" not in page
    assert "Withdraw" not in page
    assert client.get(f"/reports/{mixed['from_uk'].report_id}/edit/").status_code == 403


def test_withdrawal_needs_a_reason_and_keeps_the_page(client_as: Any, make_report: Any) -> None:
    version = make_report(classification="OFFICIAL", tlp="green")
    client = client_as(Role.RELEASER, "SECRET")
    url = f"/reports/{version.report_id}/withdraw/"
    empty = client.post(url, {"base_version": 1, "reason": ""})
    assert empty.status_code == 400
    assert "This field is required" in html(empty)
    done = client.post(url, {"base_version": 1, "reason": "Source recanted"})
    assert done.status_code == 302
    page = html(client.get(f"/reports/{version.report_id}/"))
    assert "Withdrawn: Source recanted" in page


def test_an_analyst_cannot_withdraw_a_published_report(client_as: Any, make_report: Any) -> None:
    version = make_report(classification="OFFICIAL", tlp="green")
    response = client_as(Role.ANALYST, "SECRET").post(
        f"/reports/{version.report_id}/withdraw/", {"base_version": 1, "reason": "no"}
    )
    assert response.status_code == 400
    assert "needs the releaser role" in html(response)


def test_auditors_and_admins_read_but_do_not_write(client_as: Any, make_report: Any) -> None:
    version = make_report(classification="OFFICIAL", tlp="green")
    for role in (Role.AUDITOR, Role.TRUST_ADMIN):
        client = client_as(role, "SECRET")
        assert client.get(f"/reports/{version.report_id}/").status_code == 200
        assert client.get("/reports/new/").status_code == 403
