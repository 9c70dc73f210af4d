"""Charts are built only from the reports the user may see: no bar, count or route from a
report above the clearance or outside this node's entitlement, in the page or its fragment."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from accounts.models import Role
from cases.models import Case, CaseScore

from .conftest import html


def this_month() -> date:
    return timezone.localdate().replace(day=1)


@pytest.fixture
def reports(make_report: Any) -> None:
    make_report(
        classification="OFFICIAL",
        tlp="green",
        event_start=this_month(),
        details={"items": [{"model": "H20", "quantity": 10}], "route": ["US", "SG", "CN"]},
    )
    make_report(
        classification="OFFICIAL",
        tlp="green",
        origin="uk",
        event_start=this_month(),
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


def bar_links(page: str, section_id: str) -> dict[str, str]:
    """Bar title -> the link the bar opens, in one figure."""
    start = page.index(f'aria-labelledby="{section_id}"')
    end = page.index("</figure>", start)
    found = re.findall(
        r'<a href="([^"]+)"><rect [^>]*data-bar><title>([^<]*)</title>', page[start:end]
    )
    return {title: html_lib.unescape(href) for href, title in found}


def test_reports_are_counted_by_event_month_and_a_bar_opens_them(
    client_as: Any, make_report: Any
) -> None:
    earlier = (this_month() - timedelta(days=1)).replace(day=1)
    make_report(classification="OFFICIAL", tlp="green", event_start=earlier, title="Older lot A")
    make_report(classification="OFFICIAL", tlp="green", event_start=earlier, title="Older lot B")
    make_report(classification="OFFICIAL", tlp="green", event_start=this_month(), title="New lot")
    make_report(classification="OFFICIAL", tlp="green", title="Undated lot")  # filed today
    client = client_as(Role.ANALYST, "OFFICIAL")
    page = html(client.get("/charts/"))
    links = bar_links(page, "c-time")
    assert set(links) == {
        f"{earlier:%b %Y}: 2 AI-chip diversion",
        f"{this_month():%b %Y}: 1 AI-chip diversion",
    }
    assert "1 without an event date are not shown" in page
    href = links[f"{earlier:%b %Y}: 2 AI-chip diversion"]
    query = parse_qs(urlsplit(href).query)
    assert query["category"] == ["chip_diversion"]
    assert query["event_from"] == [earlier.isoformat()]
    listed = html(client.get(href))
    assert "Older lot A" in listed
    assert "Older lot B" in listed
    assert "New lot" not in listed
    assert "Undated lot" not in listed


def scored_case(category: str, score: float, level: int = 1) -> int:
    case = Case.objects.create(title=f"{category} {score}", classification=level, category=category)
    CaseScore.objects.create(
        case=case,
        classification=level,
        score=score,
        baseline=5.0,
        contributions=[],
        config_version="test",
        scored_at=timezone.now(),
    )
    return int(case.pk)


def test_each_category_has_its_own_risk_histogram_whose_bars_open_the_queue(
    client_as: Any, db: Any
) -> None:
    chips = [scored_case("chip_diversion", s) for s in (12.0, 47.5, 48.0, 99.0)]
    weights = [scored_case("model_weights", s) for s in (33.0, 71.0)]
    scored_case("military_ai", 55.0, level=4)  # SECRET: not for an OFFICIAL reader
    client = client_as(Role.ANALYST, "OFFICIAL")
    page = html(client.get("/charts/"))
    assert re.findall(r'class="small-multiple" data-category="([a-z_]*)"', page) == [
        "chip_diversion",
        "model_weights",
    ]
    section = page[page.index('aria-labelledby="c-risk-cat"') :]
    assert "<h3>Model-weights proliferation <span" in section
    links = bar_links(page, "c-risk-cat")
    assert sorted(links) == sorted(
        [
            "score 10–20: 1 case",
            "score 40–50: 2 cases",
            "score 90–100: 1 case",
            "score 30–40: 1 case",
            "score 70–80: 1 case",
        ]
    )
    band = html(client.get(links["score 40–50: 2 cases"]))
    shown = {int(n) for n in re.findall(r'data-case="(\d+)"', band)}
    assert shown == set(chips[1:3])
    top = html(client.get(links["score 90–100: 1 case"]))  # the last band holds 100 itself
    assert {int(n) for n in re.findall(r'data-case="(\d+)"', top)} == {chips[3]}
    assert not set(weights) & shown
    table = section[section.index("Show as a table") :]
    assert table.count("<tr>") == 11  # a header and ten bands
