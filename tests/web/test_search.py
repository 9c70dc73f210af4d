"""Search and pivot: full text over names, serials, references and notes, misspellings through
trigram similarity, entity pages, related reports, all scoped like every other read."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role
from audit.models import AuditEntry
from cases.models import Case
from cases.services import regroup_all
from reports.models import Entity, ReportVersion
from reports.services import EntityInput
from search.models import SearchDocument, SearchTerm
from search.services import reindex_all

from .conftest import html

CONSIGNEE = "Harbourfront Logistics Pte Ltd"


def chip(consignee: str, serial: str, **more: Any) -> dict[str, Any]:
    return {
        "items": [{"model": "H100 SXM", "quantity": 480, "serials": [serial]}],
        "consignee": {"name": consignee, "address": f"8 Quay of {consignee}", "country": "SG"},
        "route": ["US", "SG", "CN"],
        **more,
    }


@pytest.fixture
def corpus(make_report: Callable[..., ReportVersion]) -> dict[str, ReportVersion]:
    """Six reports name the consignee, one of them in its title; one is SECRET; one names a
    person and a shipment reference; one arrived from the UK."""
    made: dict[str, ReportVersion] = {}
    made["titled"] = make_report(
        title="Harbourfront consignment of H100", details=chip(CONSIGNEE, "HF-0001")
    )
    for n in range(2, 5):
        made[f"plain{n}"] = make_report(
            title=f"Shipment {n} via Singapore", details=chip(CONSIGNEE, f"HF-000{n}")
        )
    made["received"] = make_report(
        origin="uk",
        title="Port call in Klang",
        details=chip(CONSIGNEE, "HF-0005", shipment_ref="AWB-NC-1"),
        entities=[EntityInput("person", "Tan Wei Ming", "officer", "SG")],
        event_start=date(2026, 2, 1),
    )
    made["secret"] = make_report(
        classification="SECRET",
        title="Bulk order from the northern bureau",
        details=chip(CONSIGNEE, "HF-0001", shipment_ref="SECRET-REF-9"),
        event_start=date(2026, 1, 10),
    )
    made["other"] = make_report(
        title="Unrelated cloud rental", details=chip("Kestrel Computing LLC", "KC-1")
    )
    return made


def titles(page: str) -> set[str]:
    return set(re.findall(r"data-row-link>([^<]+)<", page))


def test_names_serials_people_and_references_are_found(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    found = titles(html(client.get("/search/", {"q": "harbourfront"})))
    assert len(found) == 6
    assert "Unrelated cloud rental" not in found
    assert titles(html(client.get("/search/", {"q": "Tan Wei Ming"}))) == {"Port call in Klang"}
    assert titles(html(client.get("/search/", {"q": "AWB-NC-1"}))) == {"Port call in Klang"}
    assert titles(html(client.get("/search/", {"q": "hf-0003"}))) == {"Shipment 3 via Singapore"}


def test_a_misspelt_name_finds_the_reports(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    assert len(titles(html(client.get("/search/", {"q": "harbourfrnt logistcs"})))) == 6


def test_search_never_shows_what_is_above_the_clearance(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    found = titles(html(client.get("/search/", {"q": "harbourfront"})))
    assert len(found) == 5
    assert "Bulk order from the northern bureau" not in found
    assert "northern bureau" not in html(client.get("/search/", {"q": "SECRET-REF-9"}))


def test_an_entity_named_only_above_the_clearance_is_not_found(
    client_as: Any, make_report: Any
) -> None:
    make_report(
        classification="SECRET", title="Hidden", details=chip("Obsidian Lantern Trading", "OL-1")
    )
    entity = Entity.objects.get(normalized_name="obsidian lantern trading")
    low = client_as(Role.ANALYST, "CONFIDENTIAL")
    assert low.get(f"/entities/{entity.pk}/").status_code == 404
    assert "Obsidian" not in html(low.get("/search/", {"q": "obsidian lantern"}))
    high = client_as(Role.ANALYST, "SECRET")
    assert "Obsidian Lantern Trading" in html(high.get("/search/", {"q": "obsidian lantern"}))


def test_filters_narrow_the_search(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    assert titles(html(client.get("/search/", {"q": "harbourfront", "origin": "uk"}))) == {
        "Port call in Klang"
    }
    secret_only = html(client.get("/search/", {"q": "harbourfront", "classification": "SECRET"}))
    assert titles(secret_only) == {"Bulk order from the northern bureau"}
    assert titles(html(client.get("/search/", {"q": "harbourfront", "category": "other"}))) == set()


def test_the_entity_page_gathers_everything_naming_it(client_as: Any, corpus: Any) -> None:
    regroup_all()
    entity = Entity.objects.get(
        kind="organisation", normalized_name="harbourfront logistics pte ltd"
    )
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    search_page = html(client.get("/search/", {"q": "harbourfront"}))
    assert f'href="/entities/{entity.pk}/"' in search_page
    page = html(client.get(f"/entities/{entity.pk}/"))
    assert len(titles(page)) == 5
    assert "northern bureau" not in page
    assert "Consignee (5)" in page
    assert "Singapore" in page
    assert "2026-02-01" in page  # first seen: the earliest visible event
    assert "2026-01-10" not in page  # the SECRET report's event stays hidden
    case = Case.objects.filter(members__report_id=corpus["titled"].report_id).first()
    assert case is not None
    assert f'href="/cases/{case.pk}/"' in page


def test_entities_on_a_report_link_to_their_pages(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    page = html(client.get(f"/reports/{corpus['received'].report_id}/"))
    person = Entity.objects.get(normalized_name="tan wei ming")
    consignee = Entity.objects.get(
        kind="organisation", normalized_name="harbourfront logistics pte ltd"
    )
    assert f'href="/entities/{person.pk}/"' in page
    assert f'href="/entities/{consignee.pk}/"' in page


def test_a_report_lists_others_sharing_its_serial_or_consignee(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    page = html(client.get(f"/reports/{corpus['titled'].report_id}/"))
    related = page.split('id="h-related"', 1)[1].split("</section>", 1)[0]
    assert "Shipment 2 via Singapore" in related
    assert "consignee" in related.lower()
    assert "northern bureau" not in related  # shares serial HF-0001, but is SECRET
    assert "Unrelated cloud rental" not in related


def test_received_and_revised_reports_are_indexed(corpus: Any) -> None:
    document = SearchDocument.objects.get(report_id=corpus["received"].report_id)
    assert "AWB-NC-1" in document.identifiers
    assert "HF-0005" in document.identifiers


def test_a_full_rebuild_goes_batch_by_batch_and_restores_the_indexes(
    client_as: Any, corpus: Any
) -> None:
    reports = len(corpus)
    SearchDocument.objects.all().delete()
    SearchTerm.objects.all().delete()
    client = client_as(Role.ANALYST, "SECRET")
    assert not titles(html(client.get("/search/", {"q": "harbourfront"})))
    seen: list[int] = []
    out = io.StringIO()
    assert reindex_all(3, seen.append, rebuild_indexes=True) == reports
    assert seen == [3, 6, reports]  # 7 reports, 3 per transaction
    assert SearchDocument.objects.count() == reports
    assert SearchTerm.objects.filter(term="harbourfront").exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename LIKE 'search_%%'")
        indexes = {row[0] for row in cursor.fetchall()}
    wanted = {
        "search_document_fts",
        "search_document_head",
        "search_document_identifiers",
        "search_term_trgm",
    }
    assert wanted <= indexes
    assert len(titles(html(client.get("/search/", {"q": "harbourfrnt"})))) == 6
    # The command runs the same rebuild, and may be run again over built documents.
    call_command("reindex_search", "--batch", "4", "--rebuild-indexes", stdout=out)
    assert f"{reports} search documents rebuilt" in out.getvalue()
    assert "4 documents" in out.getvalue()
    assert SearchDocument.objects.count() == reports


def test_serials_are_matched_exactly_never_by_similarity(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    assert titles(html(client.get("/search/", {"q": "HF-0003"}))) == {"Shipment 3 via Singapore"}
    assert not titles(html(client.get("/search/", {"q": "HF-0009"})))
    assert not SearchTerm.objects.filter(term__regex=r"[0-9]").exists()
    assert SearchTerm.objects.filter(term="harbourfront").exists()


def test_the_search_api_ranks_scopes_and_refuses_unknown_parameters(
    make_web_user: Any, corpus: Any
) -> None:
    api = APIClient()
    api.force_authenticate(make_web_user(Role.ANALYST, "CONFIDENTIAL"))
    answer = api.get("/api/v1/search/", {"q": "harbourfront"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["count"] == 5
    assert len(body["results"]) == 5
    assert body["results"][0]["title"] == "Harbourfront consignment of H100"  # title weighs most
    assert any(e["name"] == CONSIGNEE for e in body["entities"])
    refused = api.get("/api/v1/search/", {"q": "harbourfront", "serach": "x"})
    assert refused.status_code == 400
    assert "serach" in refused.json()
    assert api.get("/api/v1/reports/", {"serach": "x"}).status_code == 400
    assert api.get("/api/v1/reports/", {"page": "1"}).status_code == 200
    entity_id = next(e["id"] for e in body["entities"] if e["name"] == CONSIGNEE)
    profile = api.get(f"/api/v1/entities/{entity_id}/").json()
    assert profile["report_count"] == 5
    assert profile["roles"] == {"consignee": 5}


def test_the_report_list_search_box_searches_names_too(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    assert len(titles(html(client.get("/reports/", {"q": "harbourfront"})))) == 6


def test_csv_exports_are_scoped_and_carry_the_highest_marking(client_as: Any, corpus: Any) -> None:
    client = client_as(Role.ANALYST, "CONFIDENTIAL")
    for url in ("/search.csv?q=harbourfront", "/reports.csv?q=harbourfront"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][0].startswith("CONFIDENTIAL")
        assert rows[1][:2] == ["id", "classification"]
        assert len(rows) == 2 + 5
        assert all(row[1] != "SECRET" for row in rows[2:])
    secret = client_as(Role.ANALYST, "SECRET").get("/search.csv?q=harbourfront")
    assert secret.content.decode().startswith("SECRET")


def test_csv_cells_that_look_like_formulas_are_neutralised(
    client_as: Any, make_report: Any
) -> None:
    make_report(title='=HYPERLINK("http://127.0.0.1/")', details=chip("Formula Test Co", "FT-1"))
    response = client_as(Role.ANALYST, "SECRET").get("/reports.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert any(row[4].startswith("'=HYPERLINK") for row in rows[2:])


def test_report_and_search_exports_of_classified_reports_are_audited(
    client_as: Any, corpus: Any
) -> None:
    client = client_as(Role.ANALYST, "SECRET")
    client.get("/reports.csv", {"classification": "OFFICIAL"})  # nothing classified in it
    assert not AuditEntry.objects.filter(action="report.export").exists()
    client.get("/search.csv", {"q": "harbourfront"})
    client.get("/reports.csv", {"q": "northern bureau"})
    search, listed = AuditEntry.objects.filter(action="report.export").order_by("seq")
    assert (search.target, listed.target) == ("search", "reports")
    assert search.details["classification"] == "SECRET"
    assert search.details["rows"] == 6
    assert search.details["query"] == "q=harbourfront"
    assert str(corpus["secret"].report_id) in search.details["ids"]
    assert listed.details["ids"] == [str(corpus["secret"].report_id)]
