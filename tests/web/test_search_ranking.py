"""Search ranks by how a report matches, then by recency: an exact serial or shipment reference,
every word in the title, every word among the title, party names and identifiers, every word
somewhere. The same order on the search page, its API, the report list and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role
from reports.models import Report, ReportVersion
from reports.selectors import ReportFilters
from search import selectors
from search.models import SearchDocument
from search.selectors import RANK_HEAD, RANK_IDENTIFIER, RANK_TEXT, RANK_TITLE

from .conftest import html


def chip(consignee: str, *, serial: str = "QN-1", **more: Any) -> dict[str, Any]:
    return {
        "items": [{"model": "H100 SXM", "quantity": 64, "serials": [serial]}],
        "consignee": {"name": consignee, "country": "SG"},
        "route": ["US", "SG", "CN"],
        **more,
    }


@pytest.fixture
def ranked(make_report: Callable[..., ReportVersion]) -> dict[str, ReportVersion]:
    """Reports naming "Quillon" in each place, the better matches filed first (older), so
    that only the rank class can put them ahead of the newer ones."""
    return {
        "title": make_report(title="Quillon shipment to Penang", details=chip("Arden Freight")),
        "older name": make_report(title="Consignment one", details=chip("Quillon Logistics")),
        "newer name": make_report(title="Consignment two", details=chip("Quillon Logistics")),
        "text": make_report(
            title="Routine transit note",
            summary="The forwarder quillon was mentioned by the carrier.",
            details=chip("Birch Cargo"),
        ),
        "unrelated": make_report(title="Cloud rental in Johor", details=chip("Cobalt Compute")),
    }


def page_titles(page: str) -> list[str]:
    return re.findall(r"data-row-link>([^<]+)<", page)


def test_the_match_class_comes_before_recency(client_as: Any, ranked: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    assert page_titles(html(client.get("/search/", {"q": "quillon"}))) == [
        "Quillon shipment to Penang",  # in the title
        "Consignment two",  # a party's name, the newer first
        "Consignment one",
        "Routine transit note",  # only in the summary
    ]


def test_an_exact_identifier_ranks_above_everything(
    client_as: Any, make_report: Callable[..., ReportVersion]
) -> None:
    make_report(title="Mentions QX-77 in its title", details=chip("Arden Freight"))
    make_report(title="Carries the serial", details=chip("Birch Cargo", serial="QX-77"))
    client = client_as(Role.ANALYST, "SECRET")
    assert page_titles(html(client.get("/search/", {"q": "qx-77"}))) == [
        "Carries the serial",
        "Mentions QX-77 in its title",
    ]


def test_the_api_gives_each_hit_its_class(make_web_user: Any, ranked: Any) -> None:
    api = APIClient()
    api.force_authenticate(make_web_user(Role.ANALYST, "SECRET"))
    body = api.get("/api/v1/search/", {"q": "quillon"}).json()
    assert [hit["rank"] for hit in body["results"]] == [
        RANK_TITLE,
        RANK_HEAD,
        RANK_HEAD,
        RANK_TEXT,
    ]
    assert body["count"] == 4
    serial = api.get("/api/v1/search/", {"q": "QN-1"}).json()
    assert {hit["rank"] for hit in serial["results"]} == {RANK_IDENTIFIER}
    assert serial["count"] == 5


def test_the_list_and_the_export_keep_the_search_order(client_as: Any, ranked: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    searched = page_titles(html(client.get("/search/", {"q": "quillon"})))
    assert page_titles(html(client.get("/reports/", {"q": "quillon"}))) == searched
    rows = list(csv.reader(io.StringIO(client.get("/search.csv?q=quillon").content.decode())))
    title_column = rows[1].index("title")
    assert [row[title_column] for row in rows[2:]] == searched


def test_pages_follow_on_without_overlap(
    make_web_user: Any, make_report: Callable[..., ReportVersion]
) -> None:
    for n in range(30):
        where = {"title": f"Quillon lot {n}"} if n % 3 == 0 else {"summary": f"quillon lot {n}"}
        make_report(details=chip(f"Forwarder {n}"), **where)
    reader = make_web_user(Role.ANALYST, "SECRET")
    first = selectors.search(reader, "quillon", ReportFilters(), offset=0, limit=25)
    second = selectors.search(reader, "quillon", ReportFilters(), offset=25, limit=25)
    ids = [r.pk for r in first.reports] + [r.pk for r in second.reports]
    assert first.count == second.count == 30
    assert len(ids) == len(set(ids)) == 30
    expected = list(
        selectors.matching_reports(reader, "quillon", ReportFilters()).values_list("pk", flat=True)
    )
    assert ids == expected
    assert [getattr(r, "rank") for r in first.reports[:10]] == [RANK_TITLE] * 10  # noqa: B009


@pytest.mark.parametrize(
    ("few_matches", "walk_window", "walk_limit"),
    [
        (1, 5_000, 160_000),  # one window holds every document
        (1, 2, 1_000),  # windows of 2, 4, 8: the keyset carries on across ties
        (1, 2, 3),  # the walk gives up and the class is read whole
        (2, 2, 1_000),
        (1_000, 2, 1_000),  # read from the index and sorted
    ],
)
def test_reading_a_class_from_its_index_or_walking_the_newest_agree(
    make_web_user: Any,
    make_report: Callable[..., ReportVersion],
    monkeypatch: pytest.MonkeyPatch,
    few_matches: int,
    walk_window: int,
    walk_limit: int,
) -> None:
    """Up to FEW_MATCHES a class is read from its index and sorted, beyond it the newest
    documents are walked a window at a time: the same reports in the same order either way,
    also across reports written at the same instant (a partner's batch), and a report the
    reader may not see is never let in."""
    versions = []
    for n in range(6):
        versions.append(make_report(title=f"Quillon lot {n}", details=chip(f"Forwarder {n}")))
        versions.append(make_report(title=f"Consignment {n}", details=chip("Quillon Logistics")))
    make_report(
        title="Quillon above the reader", classification="SECRET", details=chip("Cobalt Compute")
    )
    batch = [version.report_id for version in versions[:8]]
    same_instant = timezone.now()
    Report.objects.filter(pk__in=batch).update(updated_at=same_instant)
    SearchDocument.objects.filter(report_id__in=batch).update(updated_at=same_instant)
    reader = make_web_user(Role.ANALYST, "CONFIDENTIAL")
    monkeypatch.setattr(selectors, "FEW_MATCHES", few_matches)
    monkeypatch.setattr(selectors, "WALK_WINDOW", walk_window)
    monkeypatch.setattr(selectors, "WALK_LIMIT", walk_limit)
    found = selectors.search(reader, "quillon", ReportFilters(), limit=25)
    expected = list(
        selectors.matching_reports(reader, "quillon", ReportFilters()).values_list("pk", flat=True)
    )
    assert [r.pk for r in found.reports] == expected
    assert found.count == len(expected) == 12
    assert [getattr(r, "rank") for r in found.reports] == [RANK_TITLE] * 6 + [RANK_HEAD] * 6  # noqa: B009


@pytest.mark.parametrize(("clearance", "expected"), [("SECRET", 6), ("CONFIDENTIAL", 4)])
def test_the_count_of_a_common_match_is_the_readers_own(
    make_web_user: Any,
    make_report: Callable[..., ReportVersion],
    monkeypatch: pytest.MonkeyPatch,
    clearance: str,
    expected: int,
) -> None:
    """Beyond COUNT_CAP the count is "more than COUNT_CAP": taken from the documents the class
    probes read when the reader may see more than COUNT_CAP of them, counted afresh when not
    (here, eight of the twelve matches are above the reader)."""
    for n in range(12):
        level = "SECRET" if n % 3 else "OFFICIAL"
        make_report(title=f"Quillon lot {n}", classification=level, details=chip(f"Fwd {n}"))
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    monkeypatch.setattr(selectors, "FEW_MATCHES", 5)
    monkeypatch.setattr(selectors, "ENTITY_WITHIN", 1)
    reader = make_web_user(Role.ANALYST, clearance)
    recount = selectors._Match.any
    counted_afresh: list[bool] = []

    def any_match(match: Any) -> Any:
        counted_afresh.append(True)
        return recount(match)

    monkeypatch.setattr(selectors._Match, "any", any_match)
    found = selectors.search(reader, "quillon", ReportFilters(), limit=2)
    assert found.count == expected
    assert found.count_capped is (expected > 5)
    assert bool(counted_afresh) is (clearance == "CONFIDENTIAL")
    matching = selectors.matching_reports(reader, "quillon", ReportFilters())
    assert min(matching.count(), 6) == expected
