"""Charts are built only from the reports the user may see: no bar, count or route from a
report above the clearance or outside this node's entitlement, in the page or its fragment."""

from __future__ import annotations

import re
from typing import Any

import pytest

from accounts.models import Role

from .conftest import html


@pytest.fixture
def reports(make_report: Any) -> None:
    make_report(
        classification="OFFICIAL",
        tlp="green",
        details={"items": [{"model": "H20", "quantity": 10}], "route": ["US", "SG", "CN"]},
    )
    make_report(
        classification="OFFICIAL",
        tlp="green",
        origin="uk",
        details={"items": [{"model": "H20", "quantity": 10}], "route": ["US", "SG", "VN"]},
    )
    make_report(
        classification="SECRET",
        details={"items": [{"model": "H100 SXM", "quantity": 10}], "route": ["KP", "RU"]},
    )
    make_report(
        classification="OFFICIAL",
        tlp="green",
        origin="jp",
        rel_to=["jp"],
        details={"items": [{"model": "H20", "quantity": 10}], "route": ["JP", "IR"]},
    )


def bars(page: str) -> list[str]:
    return re.findall(r"<rect [^>]*data-bar><title>([^<]*)</title>", page)


def test_charts_count_only_visible_reports(client_as: Any, reports: None) -> None:
    page = html(client_as(Role.ANALYST, "OFFICIAL").get("/charts/"))
    assert "2 reports counted." in page
    titles = bars(page)
    assert any(t.endswith(": 2 AI-chip diversion") for t in titles)  # this month, two reports
    assert "US → SG: 2" in titles
    assert "SG → CN: 1" in titles
    assert "SG → VN: 1" in titles
    assert not any("KP" in t or "RU" in t or "IR" in t for t in titles)
    assert "US – United States: 1" in titles
    assert "UK – United Kingdom: 1" in titles
    assert not any(t.startswith("JP") for t in titles)  # jp kept its report from us
    assert "banner-official" in page
    assert "banner-secret" not in page


def test_a_cleared_reader_sees_more_and_the_banner_rises(client_as: Any, reports: None) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get("/charts/"))
    assert "3 reports counted." in page
    assert "KP → RU: 1" in bars(page)
    assert "banner-secret" in page


def test_the_htmx_fragment_is_scoped_and_updates_the_banner(client_as: Any, reports: None) -> None:
    response = client_as(Role.ANALYST, "OFFICIAL").get(
        "/charts/", {"months": "3"}, headers={"HX-Request": "true"}
    )
    fragment = html(response)
    assert "<html" not in fragment
    assert "2 reports counted." in fragment
    assert "KP" not in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert "banner-official" in fragment


def test_no_reports_no_bars(client_as: Any, db: Any) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get("/charts/"))
    assert "0 reports counted." in page
    assert bars(page) == []
    assert "No scored cases to show yet." in page
    assert 'class="banner banner-' not in page


def test_charts_are_svg_with_a_table_alternative(client_as: Any, reports: None) -> None:
    page = html(client_as(Role.ANALYST, "OFFICIAL").get("/charts/"))
    assert page.count("<svg viewBox") == 3
    assert 'role="img"' in page
    assert page.count("Show as a table") == 3
