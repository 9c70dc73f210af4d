"""The triage queue and the case view: scoped by clearance in pages, htmx fragments, counts and
charts; keyset paging in queue order; explanations that add up; merge and split from the UI,
audited."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEntry
from cases.models import Case, CaseMember, CaseScore
from cases.services import regroup_all
from federation.models import Envelope, Receipt
from reports.models import ReportVersion
from riskscore.features import DEFAULT_CONFIG
from web.case_charts import GROUP_COLOURS, contribution_bar, route_diagram
from web.triage import Cursor, apportion, explain

from .conftest import html

SECRET_TITLE = "Zulu secret shipment to Pyongyang"
SECRET_CASE = "Zulu Tidal Logistics"  # case titles name the consignee, not a report


def details(consignee: str, serial: str, route: list[str], **more: Any) -> dict[str, Any]:
    return {
        "items": [{"model": "H100 SXM", "quantity": 480, "serials": [serial]}],
        "consignee": {"name": consignee, "address": "1 Invented Road", "country": route[-1]},
        "route": route,
        **more,
    }


@pytest.fixture
def cases(make_report: Callable[..., ReportVersion]) -> dict[str, Any]:
    """Four cases: two CONFIDENTIAL reports (ours and the UK's, relayed through CA) sharing a
    serial, one OFFICIAL, one RESTRICTED and one SECRET report."""
    ours = make_report(
        title="Alpha H100 consignment via Singapore",
        details=details(
            "Alpha Lumen Harbor Trading Pte Ltd",
            "SER-A1",
            ["US", "SG", "MY", "CN"],
            red_flags=["freight_forwarder_consignee", "cash_payment"],
        ),
        event_start=date(2026, 3, 1),
        event_end=date(2026, 3, 9),
    )
    theirs = make_report(
        origin="uk",
        title="Alpha serials seen again in Port Klang",
        details=details("Orchid Supply Chain Ltd", "SER-A1", ["US", "SG", "CN"]),
        event_start=date(2026, 3, 5),
    )
    envelope = Envelope.objects.create(
        report_id=theirs.report_id,
        ver=1,
        typ="fed.report",
        origin="uk",
        digest=f"sha256:{uuid.uuid4().hex}",
        body={},
        iat=int(timezone.now().timestamp()),
        origin_kid="ed25519:uk-report-2026a",
        received_from="ca",
        hops=[{"from": "uk", "to": "ca", "at": 1}, {"from": "ca", "to": "us", "at": 2}],
        relay_kids={"ca": ["ed25519:ca-relay-2026a"]},
        local_version=1,
    )
    Receipt.objects.create(
        envelope=envelope,
        from_partner="ca",
        hops=[{"from": "uk", "to": "ca", "at": 1}, {"from": "ca", "to": "us", "at": 2}],
    )
    official = make_report(
        classification="OFFICIAL",
        tlp="green",
        title="Bravo official reseller",
        details=details("Bravo Kestrel Computing LLC", "SER-B1", ["US", "AE"]),
    )
    restricted = make_report(
        classification="RESTRICTED",
        title="Charlie restricted broker",
        details=details("Charlie Meridian Systems Co.", "SER-C1", ["NL", "TH"]),
    )
    secret = make_report(
        classification="SECRET",
        title=SECRET_TITLE,
        details=details("Zulu Tidal Logistics Sdn Bhd", "SER-Z1", ["KP", "RU"]),
    )
    assert regroup_all() == 4
    case_of = {
        name: Case.objects.get(members__report_id=version.report_id)
        for name, version in (
            ("alpha", ours),
            ("bravo", official),
            ("charlie", restricted),
            ("secret", secret),
        )
    }
    return {**case_of, "ours": ours, "theirs": theirs}


def first(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.S)
    assert found is not None, pattern
    return found.group(1)


def row_titles(page: str) -> list[str]:
    return re.findall(r"data-row-link>([^<]*)</a>", page)


# --------------------------------------------------------------------------------------------
# Queue
# --------------------------------------------------------------------------------------------


def test_the_queue_shows_only_cases_within_the_clearance(client_as: Any, cases: Any) -> None:
    page = html(client_as(Role.ANALYST, "CONFIDENTIAL").get("/cases/"))
    assert "3 cases." in page
    assert SECRET_CASE not in page
    assert f'data-case="{cases["secret"].pk}"' not in page
    assert "banner banner-confidential" in page
    assert "banner-secret" not in page
    high = html(client_as(Role.ANALYST, "SECRET").get("/cases/"))
    assert "4 cases." in high
    assert SECRET_CASE in high
    assert high.count("banner banner-secret") == 2  # top and bottom


def test_queue_rows_are_ranked_by_score_with_their_facts(client_as: Any, cases: Any) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get("/cases/"))
    ids = [int(i) for i in re.findall(r'data-case="(\d+)"', page)]
    expected = list(
        CaseScore.objects.order_by("-score", "case_id").values_list("case_id", flat=True)
    )
    assert ids == expected
    alpha = page[page.index(f'data-case="{cases["alpha"].pk}"') :]
    alpha = alpha[: alpha.index("</tr>")]
    assert "Alpha" in alpha
    assert "AI-chip diversion" in alpha
    assert "CN, MY, SG, US" in alpha
    assert '<td class="num">2</td>' in alpha  # reports
    assert '<span class="origins-count">2</span>' in alpha  # us and uk; the relay is not one
    assert "(UK, US)" in alpha
    # the contribution bar: inline SVG with a text alternative and a title per segment
    assert re.search(r'<svg class="contrib-bar"[^>]*role="img" aria-label="Score ', alpha)
    assert "data-segment><title>+" in alpha
    assert "data-keynav" in page
    assert page.count("data-row-link") == 4


def test_htmx_fragments_of_the_queue_are_scoped(client_as: Any, cases: Any) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    fragment = html(client.get("/cases/", {"q": "a"}, headers={"HX-Request": "true"}))
    assert "<html" not in fragment
    assert 'hx-swap-oob="true"' in fragment
    assert "Alpha" in fragment
    assert SECRET_CASE not in fragment
    assert "banner-confidential" in fragment
    searched = html(client.get("/cases/", {"q": "Zulu"}, headers={"HX-Request": "true"}))
    assert "0 cases match these filters." in searched
    typed = searched.replace('value="Zulu"', "").replace("cases.csv?q=Zulu", "")
    assert "Zulu" not in typed  # only the words typed come back, in the field and the CSV link
    above = html(
        client.get("/cases/", {"classification": "SECRET"}, headers={"HX-Request": "true"})
    )
    assert "Some filters were ignored" in above
    assert SECRET_TITLE not in above


def test_filters_narrow_the_queue(client_as: Any, cases: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")

    def titles(**query: Any) -> list[str]:
        return row_titles(html(client.get("/cases/", query)))

    alpha = cases["alpha"].title  # the title of its newest report
    assert titles(country="my") == [alpha]
    assert titles(origin="uk") == [alpha]
    assert titles(classification="OFFICIAL") == [cases["bravo"].title]
    assert titles(q="charlie") == [cases["charlie"].title]
    assert titles(category="military_ai") == []
    top = CaseScore.objects.order_by("-score").first()
    assert top is not None
    assert len(titles(min_score=f"{top.score:.3f}")) == 1
    assert alpha not in titles(event_from="2026-04-01")
    assert titles(event_from="2026-03-01", event_to="2026-03-31") == [alpha]
    bad = html(client.get("/cases/", {"min_score": "lots"}))
    assert "Some filters were ignored" in bad


def test_filter_levels_stop_at_the_clearance(client_as: Any, cases: Any) -> None:
    page = html(client_as(Role.ANALYST, "RESTRICTED").get("/cases/"))
    assert '<option value="RESTRICTED">' in page
    assert '<option value="CONFIDENTIAL">' not in page
    assert "2 cases." in page


def test_analysts_start_at_the_queue(client_as: Any, db: Any) -> None:
    assert client_as(Role.ANALYST).get("/")["Location"] == "/cases/"
    page = html(client_as(Role.AUDITOR).get("/cases/"))
    assert '<a href="/cases/" aria-current="page">Cases</a>' in page


# --------------------------------------------------------------------------------------------
# Keyset paging
# --------------------------------------------------------------------------------------------


@pytest.fixture
def many_cases(db: Any) -> list[int]:
    """61 CONFIDENTIAL cases with tied scores, 9 SECRET ones among them (not for the reader)."""
    now = timezone.now()
    rows = []
    for n in range(70):
        level = 4 if n % 8 == 0 else 3
        case = Case.objects.create(title=f"Paged case {n:02d}", classification=level)
        rows.append(
            CaseScore(
                case=case,
                classification=level,
                score=float(90 - (n // 3) * 2.5),  # three cases per score: ties
                baseline=0.67,
                contributions=[],
                config_version="test",
                scored_at=now,
            )
        )
    CaseScore.objects.bulk_create(rows)
    return list(
        CaseScore.objects.filter(classification__lte=3)
        .order_by("-score", "case_id")
        .values_list("case_id", flat=True)
    )


RANK = r'<td class="num">(\d+)</td>\s*<td class="num"><strong>'


def _next_link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}"', page)
    return "/cases/" + found.group(1).replace("&amp;", "&") if found else None


def test_keyset_paging_walks_the_queue_in_order(client_as: Any, many_cases: list[int]) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    seen: list[int] = []
    ranks: list[int] = []
    pages: list[str] = []
    url: str | None = "/cases/"
    while url:
        page = html(client.get(url))
        pages.append(page)
        seen += [int(i) for i in re.findall(r'data-case="(\d+)"', page)]
        ranks += [int(r) for r in re.findall(RANK, page)]
        url = _next_link(page, "next")
        assert len(pages) < 10
    assert len(pages) == 3  # 25 + 25 + 11
    assert seen == many_cases
    assert ranks == list(range(1, len(many_cases) + 1))
    assert "Ranks 26–50" in pages[1]
    assert "61 cases." in pages[0]
    # back from the last page gives the middle page again, with the same ranks
    back = _next_link(pages[2], "prev")
    assert back is not None
    again = html(client.get(back))
    assert re.findall(r'data-case="(\d+)"', again) == re.findall(r'data-case="(\d+)"', pages[1])
    assert "Ranks 26–50" in again
    first = html(client.get(_next_link(again, "prev") or ""))
    assert "Ranks 1–25" in first
    assert 'rel="prev"' not in first


def test_paging_uses_no_offset_and_a_forged_cursor_is_ignored(
    client_as: Any, many_cases: list[int]
) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    cursor = Cursor(90.0, many_cases[0], 1).encode()
    with CaptureQueriesContext(connection) as queries:
        after = html(client.get("/cases/", {"after": cursor}))
    assert not [q["sql"] for q in queries.captured_queries if "OFFSET" in q["sql"].upper()]
    assert any("UNION ALL" in q["sql"] for q in queries.captured_queries)
    assert re.findall(r'data-case="(\d+)"', after)[0] == str(many_cases[1])
    forged = cursor.replace(":", ":x", 1)
    assert "Ranks 1–25" in html(client.get("/cases/", {"after": forged}))
    assert "Ranks 1–25" in html(client.get("/cases/", {"after": "90.0~1~1"}))


def test_paging_never_shows_a_secret_case_to_a_confidential_reader(
    client_as: Any, many_cases: list[int]
) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    url: str | None = "/cases/"
    secret = {str(pk) for pk in Case.objects.filter(classification=4).values_list("pk", flat=True)}
    while url:
        page = html(client.get(url))
        assert not secret & set(re.findall(r'data-case="(\d+)"', page))
        assert "banner-secret" not in page
        url = _next_link(page, "next")


# --------------------------------------------------------------------------------------------
# Case view
# --------------------------------------------------------------------------------------------


def test_a_case_above_the_clearance_is_not_found(client_as: Any, cases: Any) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    assert client.get(f"/cases/{cases['secret'].pk}/").status_code == 404
    assert client.get("/cases/999999/").status_code == 404
    assert client.get(f"/cases/{cases['alpha'].pk}/").status_code == 200


def test_the_case_view_shows_reports_provenance_route_and_corroboration(
    client_as: Any, cases: Any
) -> None:
    page = html(client_as(Role.ANALYST, "CONFIDENTIAL").get(f"/cases/{cases['alpha'].pk}/"))
    assert page.count("banner banner-confidential") == 2
    assert "CONFIDENTIAL (highest classification on this page)" in page
    # both reports, from both nodes, each with its signature status
    assert "Alpha H100 consignment via Singapore" in page
    assert "Alpha serials seen again in Port Klang" in page
    assert "US – United States" in page
    assert "UK – United Kingdom" in page
    assert "signed by UK with key <code>ed25519:uk-report-2026a</code>" in page
    assert "relayed through CA" in page
    assert "countersigned by CA" in page
    assert "path UK → CA → US" in page
    assert "not released (held on this node only)" in page or "verified" in page
    # corroboration: two independent origins; the relay through CA is not a third
    assert "2 independent origin nodes" in page
    assert "Relayed copies are not corroboration" in page
    # the route: legs weighted by the reports naming them
    assert 'data-leg="US-SG"' in page
    assert "United States to Singapore: named by 2 reports" in page
    assert "Singapore to Malaysia: named by 1 report" in page
    assert re.search(r"<th scope=\"row\">US → SG</th><td>2</td>", page)
    # the timeline: event dates and when each report arrived
    assert "event 2026-03-01 to 2026-03-09" in page
    assert "received " in page
    assert "filed here " in page
    # the links that formed the case
    assert "Same chip serial number" in page
    assert "SERA1" in page  # the serial as compared (letters and digits only)


def test_the_explanation_adds_up_to_the_score(client_as: Any, cases: Any) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get(f"/cases/{cases['alpha'].pk}/"))
    block = page[page.index('<div class="explanation"') :]
    block = block[: block.index('<p class="explanation-total">') + 300]
    score = float(first(r'data-score="([^"]+)"', block))
    baseline = float(first(r'data-baseline="([^"]+)"', block))
    points = [float(p) for p in re.findall(r'data-points="([^"]+)"', block)]
    assert baseline + sum(points) == pytest.approx(score, abs=0.01)
    stored = CaseScore.objects.get(case=cases["alpha"])
    # every feature of the configuration is listed: no "other" lump
    assert len(points) == len(stored.contributions) == len(DEFAULT_CONFIG.feature_names)
    assert "Other (" not in block
    # the rounded figures on screen add up exactly, per line and per group
    shown = re.findall(r'<td class="num points-(?:up|down)">([+−][0-9.]+)</td>', block)
    as_hundredths = [round(float(s.replace("−", "-")) * 100) for s in shown]
    groups = re.findall(r'data-group-points="[^"]+">([+−][0-9.]+)</span>', block)
    group_hundredths = [round(float(s.replace("−", "-")) * 100) for s in groups]
    base_shown = round(float(first(r"data-shown-baseline>([0-9.]+)<", block)) * 100)
    total_shown = round(float(first(r"data-shown-score>([0-9.]+)<", block)) * 100)
    assert base_shown + sum(as_hundredths) == total_shown
    assert sum(group_hundredths) == sum(as_hundredths)
    assert len(groups) >= 5
    assert "Controlled accelerator (ECCN 3A090)" in block
    assert "Red flag: Cash payment" in block or "Red flag: Freight forwarder" in block
    assert "Destination and route" in block
    assert "Screening lists" in block
    assert "<em>missing</em>" in block or re.search(r'<td class="num">[0-9.]+</td>', block)


def test_viewing_a_classified_case_is_audited(client_as: Any, cases: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    client.get(f"/cases/{cases['bravo'].pk}/")  # OFFICIAL: not recorded
    client.get(f"/cases/{cases['alpha'].pk}/")
    entry = AuditEntry.objects.filter(action="case.view").get()
    assert entry.target == str(cases["alpha"].pk)
    assert entry.details == {"classification": "CONFIDENTIAL", "reports": 2}


def test_readers_without_the_analyst_role_see_no_merge_or_split(client_as: Any, cases: Any) -> None:
    auditor = client_as(Role.AUDITOR, "SECRET")
    page = html(auditor.get(f"/cases/{cases['alpha'].pk}/"))
    assert "Why this score" in page
    assert "Merge…" not in page
    assert "Split…" not in page
    url = f"/cases/{cases['alpha'].pk}/merge/"
    assert auditor.post(url, {"case_numbers": str(cases["bravo"].pk)}).status_code == 403


# --------------------------------------------------------------------------------------------
# Merge and split
# --------------------------------------------------------------------------------------------


@pytest.fixture
def two_confidential(make_report: Callable[..., ReportVersion], cases: Any) -> dict[str, Any]:
    extra = make_report(
        title="Delta confidential broker",
        details=details("Delta Vantage Electronics Ltd", "SER-D1", ["US", "HK"]),
    )
    regroup_all()
    return {
        "alpha": Case.objects.get(members__report_id=cases["ours"].report_id),
        "delta": Case.objects.get(members__report_id=extra.report_id),
        "secret": Case.objects.get(pk=cases["secret"].pk),
        "bravo": Case.objects.get(pk=cases["bravo"].pk),
        "extra": extra,
    }


def test_merge_from_the_case_view(client_as: Any, two_confidential: Any) -> None:
    alpha, delta = two_confidential["alpha"], two_confidential["delta"]
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    response = client.post(f"/cases/{alpha.pk}/merge/", {"case_numbers": f"#{delta.pk}"})
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{alpha.pk}/"
    assert not Case.objects.filter(pk=delta.pk).exists()
    merged = Case.objects.get(pk=alpha.pk)
    assert merged.report_count == 3
    assert CaseMember.objects.get(report_id=two_confidential["extra"].report_id).case_id == alpha.pk
    entry = AuditEntry.objects.filter(action="case.merge").get()
    assert entry.target == str(alpha.pk)
    assert entry.details["merged"] == [delta.pk]
    page = html(client.get(response["Location"]))
    assert f"Cases #{delta.pk} were merged into this case" in page
    assert "Delta confidential broker" in page
    assert "Kept together by" in page


def test_merge_errors_are_shown_next_to_the_field(client_as: Any, two_confidential: Any) -> None:
    alpha = two_confidential["alpha"]
    secret = two_confidential["secret"]
    low = client_as(Role.ANALYST, "CONFIDENTIAL")
    url = f"/cases/{alpha.pk}/merge/"
    hidden = low.post(url, {"case_numbers": str(secret.pk)})
    assert hidden.status_code == 400
    text = html(hidden)
    assert f"No case #{secret.pk} that you may see" in text
    assert SECRET_TITLE not in text
    assert re.search(r'class="field has-error">\s*<label for="id_case_numbers">', text)
    assert "banner-secret" not in text
    assert "Give at least one other case" in html(low.post(url, {"case_numbers": ""}))
    assert "is not a case number" in html(low.post(url, {"case_numbers": "twelve"}))
    # a SECRET reader may see both, but a merge across levels is refused by the service
    high = client_as(Role.ANALYST, "SECRET")
    across = html(high.post(url, {"case_numbers": str(secret.pk)}))
    assert "Cases at different classifications are not merged" in across
    assert Case.objects.filter(pk=secret.pk).exists()
    assert not AuditEntry.objects.filter(action="case.merge").exists()


def test_merge_search_offers_only_visible_cases_at_the_same_level(
    client_as: Any, two_confidential: Any
) -> None:
    alpha, delta = two_confidential["alpha"], two_confidential["delta"]
    client = client_as(Role.ANALYST, "SECRET")
    url = f"/cases/{alpha.pk}/merge/candidates/"
    found = html(client.get(url, {"q": "e"}, headers={"HX-Request": "true"}))
    assert "<html" not in found
    assert f'value="{delta.pk}"' in found
    assert f'value="{alpha.pk}"' not in found  # not itself
    assert SECRET_CASE not in found  # another level
    assert "Bravo" not in found
    by_number = html(client.get(url, {"q": f"#{delta.pk}"}))
    assert "Delta Vantage Electronics" in by_number
    ticked = client.post(f"/cases/{alpha.pk}/merge/", {"case_numbers": "", "cases": [delta.pk]})
    assert ticked.status_code == 302
    assert not Case.objects.filter(pk=delta.pk).exists()


def test_split_from_the_case_view(client_as: Any, cases: Any) -> None:
    alpha = cases["alpha"]
    theirs = str(cases["theirs"].report_id)
    client = client_as(Role.RELEASER, "CONFIDENTIAL")
    url = f"/cases/{alpha.pk}/split/"
    none = client.post(url, {})
    assert none.status_code == 400
    assert "Tick the reports to move out" in html(none)
    both = client.post(url, {"reports": [theirs, str(cases["ours"].report_id)]})
    assert both.status_code == 400
    assert "Leave at least one report in this case" in html(both)
    response = client.post(url, {"reports": [theirs]})
    assert response.status_code == 302
    moved = Case.objects.get(members__report_id=theirs)
    assert moved.pk != alpha.pk
    assert Case.objects.get(pk=alpha.pk).report_count == 1
    entry = AuditEntry.objects.filter(action="case.split").get()
    assert entry.details["moved"] == [theirs]
    assert entry.details["new_case"] == moved.pk
    page = html(client.get(response["Location"]))
    assert f"moved out into case #{moved.pk}" in page
    assert "Kept apart by" in page
    regroup_all()  # the split is remembered
    assert Case.objects.get(members__report_id=theirs) != Case.objects.get(
        members__report_id=cases["ours"].report_id
    )


# --------------------------------------------------------------------------------------------
# Risk chart
# --------------------------------------------------------------------------------------------


def risk_bars(page: str) -> list[str]:
    start = page.index('aria-labelledby="c-risk"')
    section = page[start : page.index("</figure>", start)]
    return re.findall(r"<rect [^>]*data-bar><title>(score [^<]*)</title>", section)


def test_the_risk_chart_counts_only_visible_cases(client_as: Any, cases: Any) -> None:
    low = html(client_as(Role.ANALYST, "CONFIDENTIAL").get("/charts/"))
    bars = risk_bars(low)
    assert sum(int(first(r": (\d+) case", b)) for b in bars) == 3
    assert "(0–100 points; 3 cases)" in low
    assert "banner-secret" not in low
    high = html(client_as(Role.ANALYST, "SECRET").get("/charts/"))
    assert "(0–100 points; 4 cases)" in high
    assert "banner-secret" in high
    fragment = html(
        client_as(Role.ANALYST, "CONFIDENTIAL").get(
            "/charts/", {"months": "3"}, headers={"HX-Request": "true"}
        )
    )
    assert "<html" not in fragment
    assert "(0–100 points; 3 cases)" in fragment
    assert "banner-confidential" in fragment


def test_the_risk_chart_bands_follow_the_scores(client_as: Any, many_cases: list[int]) -> None:
    page = html(client_as(Role.ANALYST, "CONFIDENTIAL").get("/charts/"))
    bands: dict[str, int] = {}
    for score in CaseScore.objects.filter(classification__lte=3).values_list("score", flat=True):
        low = min(int(score // 10), 9) * 10
        bands[f"{low}–{low + 10}"] = bands.get(f"{low}–{low + 10}", 0) + 1
    assert sorted(risk_bars(page)) == sorted(
        f"score {band}: {n} case{'s' if n > 1 else ''}" for band, n in bands.items()
    )


# --------------------------------------------------------------------------------------------
# Units: explanation arithmetic and the SVG geometry
# --------------------------------------------------------------------------------------------


def test_apportioned_points_add_up_exactly() -> None:
    values = [12.3456, 7.0049, 3.3333, -1.2345, 0.0049]
    total = round((0.67 + sum(values)) * 100) - 67
    shown = apportion(values, total)
    assert sum(shown) == total
    assert all(abs(s - v * 100) < 1 for s, v in zip(shown, values, strict=True))


def test_explanation_lines_have_labels_values_and_add_up() -> None:
    contributions = [
        {"feature": "screening_match", "points": 20.123, "value": 0.8, "missing": False},
        {"feature": "rf_cash_payment", "points": 5.555, "value": 0.9, "missing": False},
        {"feature": "recency", "points": -1.111, "value": None, "missing": True},
        {"feature": "other (30 features)", "points": 2.0, "value": None, "missing": False},
    ]
    score = 0.674 + 20.123 + 5.555 - 1.111 + 2.0
    explanation = explain(score, 0.674, contributions, "v1")
    labels = [line.label for line in explanation.lines]
    assert labels == [
        "Screening-list name match",
        "Red flag: Cash payment",
        "Recency",
        "Other (30 features)",
    ]
    assert explanation.lines[1].meaning.startswith("red flag, noisy-OR over origins")
    assert explanation.lines[2].value == "missing"
    assert explanation.lines[0].value == "0.8"
    assert explanation.adds_up
    total = sum(float(line.shown.replace("−", "-")) for line in explanation.lines)
    assert round(float(explanation.shown_baseline) + total, 2) == float(explanation.shown_score)


def test_the_bar_colours_and_names_each_feature_group() -> None:
    contributions = [
        {"feature": "controlled_item", "points": 30.0, "value": 1.0, "missing": False},
        {"feature": "source_quality", "points": -5.0, "value": 0.2, "missing": False},
    ]
    explanation = explain(25.67, 0.67, contributions, "v1")
    bar = contribution_bar(25.67, 0.67, explanation.lines)
    fills = [segment.fill for segment in bar.segments]
    assert fills == [GROUP_COLOURS["item"], GROUP_COLOURS["source"]]
    up, down = bar.segments
    assert down.x + down.width == pytest.approx(up.x + up.width, abs=0.01)  # ends meet
    assert bar.score_x == pytest.approx(down.x, abs=0.01)
    assert "+30.00 Items and magnitude" in bar.text
    assert "−5.00 Sources and corroboration" in bar.text
    assert bar.caption == "Items and magnitude +30.00 · Sources and corroboration −5.00"


def test_route_legs_are_weighted_by_the_reports_naming_them() -> None:
    diagram = route_diagram([["US", "SG", "CN"], ["US", "SG", "MY", "CN"], ["CN", "US"]])
    weights = {(e.source, e.target): e.weight for e in diagram.edges}
    assert weights == {
        ("US", "SG"): 2,
        ("SG", "CN"): 1,
        ("SG", "MY"): 1,
        ("MY", "CN"): 1,
        ("CN", "US"): 1,
    }
    heavy = next(e for e in diagram.edges if e.source == "US" and e.target == "SG")
    light = next(e for e in diagram.edges if e.source == "SG" and e.target == "MY")
    assert heavy.stroke_width > light.stroke_width
    columns = {n.code: n.x for n in diagram.nodes}
    assert columns["US"] < columns["SG"] < columns["MY"] < columns["CN"]
    assert route_diagram([["US"], []]).edges == []


def test_the_report_view_links_to_its_case(client_as: Any, cases: Any) -> None:
    page = html(client_as(Role.ANALYST, "CONFIDENTIAL").get(f"/reports/{cases['ours'].report_id}/"))
    assert f'<a href="/cases/{cases["alpha"].pk}/">#{cases["alpha"].pk}: ' in page
    reports = html(client_as(Role.ANALYST, "CONFIDENTIAL").get("/reports/"))
    assert '<a href="/cases/">triage queue</a>' in reports


def test_a_single_report_case_offers_merge_but_not_split(client_as: Any, cases: Any) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get(f"/cases/{cases['bravo'].pk}/"))
    assert "Merge…" in page
    assert "Split…" not in page
    assert "A single report: nothing links it to others yet." in page


def test_a_case_with_nothing_the_user_may_see_is_not_found(
    client_as: Any, make_report: Callable[..., ReportVersion]
) -> None:
    kept_from_us = make_report(
        origin="uk",
        rel_to=["uk"],
        title="Kept from this node",
        details=details("Invented Withheld Ltd", "SER-W1", ["GB", "AE"]),
    )
    regroup_all()
    case = Case.objects.get(members__report_id=kept_from_us.report_id)
    assert client_as(Role.ANALYST, "SECRET").get(f"/cases/{case.pk}/").status_code == 404


# --------------------------------------------------------------------------------------------
# Queue export
# --------------------------------------------------------------------------------------------


def queue_csv(client: Any, **query: Any) -> list[list[str]]:
    response = client.get("/cases.csv", query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="cases-')
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_queue_csv_is_scoped_to_the_clearance(client_as: Any, cases: Any) -> None:
    rows = queue_csv(client_as(Role.ANALYST, "CONFIDENTIAL"))
    assert rows[0][0] == "CONFIDENTIAL (highest classification in this export)"
    assert rows[1][:4] == ["case", "rank", "classification", "score"]
    exported = {int(row[0]) for row in rows[2:]}
    assert exported == {cases[name].pk for name in ("alpha", "bravo", "charlie")}
    assert SECRET_CASE not in "\n".join(",".join(row) for row in rows)
    high = queue_csv(client_as(Role.ANALYST, "SECRET"))
    assert high[0][0].startswith("SECRET ")
    assert cases["secret"].pk in {int(row[0]) for row in high[2:]}


def test_the_queue_csv_keeps_queue_order_and_its_facts(client_as: Any, cases: Any) -> None:
    header, *rows = queue_csv(client_as(Role.ANALYST, "SECRET"))[1:]
    expected = list(
        CaseScore.objects.order_by("-score", "case_id").values_list("case_id", flat=True)
    )
    assert [int(row[0]) for row in rows] == expected
    assert [row[1] for row in rows] == ["1", "2", "3", "4"]
    alpha = next(row for row in rows if int(row[0]) == cases["alpha"].pk)
    named = dict(zip(header, alpha, strict=True))
    assert named["classification"] == "CONFIDENTIAL"
    assert named["countries"] == "CN MY SG US"
    assert named["reports"] == "2"
    assert named["independent_origins"] == "UK US"
    assert named["status"] == "New"
    assert named["top_contributions"].count(";") == 2  # the three largest contributions


def test_the_queue_csv_applies_the_queue_filters(client_as: Any, cases: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")

    def exported(**query: Any) -> list[int]:
        return [int(row[0]) for row in queue_csv(client, **query)[2:]]

    assert exported(classification="OFFICIAL") == [cases["bravo"].pk]
    assert exported(country="my", after="forged-cursor") == [cases["alpha"].pk]
    assert exported(q="charlie") == [cases["charlie"].pk]
    assert exported(category="military_ai") == []
    assert queue_csv(client, classification="OFFICIAL")[0][0].startswith("OFFICIAL ")


def test_the_queue_links_to_its_csv_with_the_filters(client_as: Any, cases: Any) -> None:
    page = html(client_as(Role.ANALYST, "SECRET").get("/cases/", {"country": "my"}))
    assert re.search(r'href="/cases\.csv\?country=my" download data-csv-link>Download CSV', page)


def test_exporting_classified_cases_is_audited(client_as: Any, cases: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    queue_csv(client, classification="OFFICIAL")  # OFFICIAL only: not recorded
    assert not AuditEntry.objects.filter(action="case.export").exists()
    queue_csv(client, classification="CONFIDENTIAL")
    entry = AuditEntry.objects.get(action="case.export")
    assert entry.target == "cases"
    assert entry.details == {
        "classification": "CONFIDENTIAL",
        "rows": 1,
        "query": "classification=CONFIDENTIAL",
        "ids": [str(cases["alpha"].pk)],
    }
