"""Cases from real reports in PostgreSQL: grouping, scoring, scoping, merge and split."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import Role
from cases.models import Case, ScreeningList
from cases.screening import import_list
from cases.services import features_of, regroup_all, score_report_case
from riskscore.screening_formats import ScreeningFormatError
from tests.cases.factories import author, details, publish

pytestmark = pytest.mark.django_db
__all__ = ["author"]  # a fixture


def test_reports_sharing_a_consignee_form_one_scored_case(author: Any) -> None:
    a = publish(author, details=details("Lumen Harbor Trading Pte Ltd", "S-1"))
    b = publish(author, details=details("LUMEN HARBOR TRADING PTE. LTD.", "S-2"))
    c = publish(author, details=details("Kestrel Computing LLC", "S-3"))
    assert regroup_all() == 2
    together = Case.objects.get(members__report_id=a)
    assert {str(m.report_id) for m in together.members.all()} == {a, b}
    assert Case.objects.get(members__report_id=c).pk != together.pk
    scored = together.scored
    points = sum(item["points"] for item in scored.contributions)
    assert scored.baseline + points == pytest.approx(scored.score, abs=0.01)


def test_a_case_never_crosses_a_marking_boundary(author: Any) -> None:
    secret = {"classification": "SECRET", "rel_to": ["fvey"], "orcon": False, "tlp": "amber"}
    a = publish(author, details=details("Lumen Harbor Trading Pte Ltd", "S-9"))
    b = publish(author, details=details("Lumen Harbor Trading Pte Ltd", "S-9"), markings=secret)
    regroup_all()
    assert Case.objects.get(members__report_id=a).pk != Case.objects.get(members__report_id=b).pk


def test_incremental_scoring_joins_the_existing_case(author: Any) -> None:
    a = publish(author, details=details("Orchid Supply Chain Ltd", "SER-77"))
    regroup_all()
    b = publish(author, details=details("Vantage Electronics Ltd", "SER-77"))
    case = score_report_case(b)
    assert case is not None
    assert {str(m.report_id) for m in case.members.all()} == {a, b}
    assert Case.objects.filter(members__report_id=a).get().pk == case.pk
    assert any(link["reason"] == "serial" for link in case.links)


def test_api_ranks_cases_and_hides_them_above_clearance(
    author: Any, client_for: Callable[..., APIClient]
) -> None:
    flags = [
        "freight_forwarder_consignee",
        "residential_address",
        "third_country_payment",
        "refused_installation",
        "evasive_end_use",
    ]
    publish(author, details=details("Apex Global FZE", "R-1", red_flags=flags))
    publish(
        author, details=details("Meridian Systems Co.", "R-2", red_flags=[], route=["US", "JP"])
    )
    secret = {"classification": "SECRET", "rel_to": ["fvey"], "orcon": False, "tlp": "amber"}
    publish(author, details=details("Tidal Logistics Sdn Bhd", "R-3"), markings=secret)
    regroup_all()
    high = client_for(Role.ANALYST, "SECRET").get("/api/v1/cases/").json()
    assert high["count"] == 3
    scores = [row["score"] for row in high["results"]]
    assert scores == sorted(scores, reverse=True)
    assert [row["rank"] for row in high["results"]] == [1, 2, 3]
    flagged = next(r for r in high["results"] if r["title"].startswith("Apex Global FZE"))
    assert flagged["contributions"], "every score carries its explanation"
    low = client_for(Role.ANALYST, "CONFIDENTIAL").get("/api/v1/cases/").json()
    assert low["count"] == 2
    assert all(row["classification"] != "SECRET" for row in low["results"])
    # a score band, as the charts' bars open it: [min_score, max_score)
    middle = scores[1]
    band = client_for(Role.ANALYST, "SECRET").get(
        "/api/v1/cases/", {"min_score": middle, "max_score": scores[0]}
    )
    assert [row["score"] for row in band.json()["results"]] == [middle]


def test_missing_signals_are_shown_as_missing(author: Any) -> None:
    bare = details("Jade Gate Electronics Ltd", "M-1")
    for key in ("route", "value_usd", "intermediaries", "red_flags"):
        bare.pop(key, None)
    rid = publish(author, details=bare)
    regroup_all()
    case = Case.objects.get(members__report_id=rid)
    vector = features_of(case)
    assert np.isnan(vector).any(), "absent signals are stored as missing, not as zero"
    assert case.scored.score > case.scored.baseline, "missing signals never make it risk-free"


def test_merge_and_split_through_the_api(author: Any, client_for: Callable[..., APIClient]) -> None:
    a = publish(author, details=details("Golden Delta Computing LLC", "Q-1"))
    b = publish(author, details=details("Silverline Trading Pte Ltd", "Q-2"))
    regroup_all()
    client = client_for(Role.ANALYST, "SECRET")
    case_a = Case.objects.get(members__report_id=a).pk
    case_b = Case.objects.get(members__report_id=b).pk
    merged = client.post(f"/api/v1/cases/{case_a}/merge/", {"cases": [case_b]}, format="json")
    assert merged.status_code == 200, merged.content
    assert {r["id"] for r in merged.json()["reports"]} == {a, b}
    assert merged.json()["id"] == case_a
    split = client.post(f"/api/v1/cases/{case_a}/split/", {"reports": [b]}, format="json")
    assert split.status_code == 200, split.content
    assert Case.objects.get(members__report_id=a).pk != Case.objects.get(members__report_id=b).pk
    regroup_all()  # the split is remembered
    assert Case.objects.get(members__report_id=a).pk != Case.objects.get(members__report_id=b).pk


def test_malformed_screening_list_is_refused_and_the_old_one_stays(tmp_path: Path) -> None:
    good = tmp_path / "list.json"
    good.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "id": "1",
                        "name": "Lumen Harbor Trading",
                        "alt_names": ["Lumen Harbour Trading"],
                        "addresses": [{"address": "12 Changi South Lane", "country": "SG"}],
                        "source": "Entity List (EL) - Bureau of Industry and Security",
                        "programs": ["EAR"],
                    },
                ]
            }
        )
    )
    first = import_list(good)
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": [\n{"id": "2", "name": "Fine Name"},\n{"id": "3", "name": 7}\n]}')
    with pytest.raises(ScreeningFormatError) as caught:
        import_list(bad)
    assert caught.value.line == 3
    assert caught.value.field == "name"
    assert ScreeningList.objects.get(active=True).pk == first.pk
    assert ScreeningList.objects.count() == 1


def test_screening_hit_raises_the_score(author: Any, tmp_path: Path) -> None:
    rid = publish(author, details=details("Lumen Harbor Trading Pte Ltd", "H-1"))
    regroup_all()
    before = Case.objects.get(members__report_id=rid).scored.score
    listing = tmp_path / "list.json"
    listing.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "id": "1",
                        "name": "Lumen Harbor Trading Pte Ltd",
                        "alt_names": [],
                        "addresses": [],
                        "source": "Entity List (EL) - Bureau of Industry and Security",
                        "programs": ["EAR"],
                    },
                ]
            }
        )
    )
    import_list(listing)
    regroup_all()
    after = Case.objects.get(members__report_id=rid).scored.score
    assert after is not None
    assert before is not None
    assert after > before


def test_offline_command_ranks_a_jsonl_file(tmp_path: Path) -> None:
    from riskscore.synthetic import generate

    reports, _labels = generate(seed=3, n_cases=40)
    source = tmp_path / "reports.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in reports))
    out = tmp_path / "ranked.jsonl"
    call_command("score_reports", str(source), str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines
    scores = [line["score"] for line in lines]
    assert scores == sorted(scores, reverse=True)


def test_merging_cases_keeps_the_links_that_formed_them(
    author: Any, client_for: Callable[..., APIClient]
) -> None:
    a1 = publish(author, details=details("Northwind Trading Pte Ltd", "L-1"))
    a2 = publish(author, details=details("Northwind Trading Pte Ltd", "L-2"))
    b1 = publish(author, details=details("Blue Crane Logistics Sdn Bhd", "L-3"))
    b2 = publish(author, details=details("Blue Crane Logistics Sdn Bhd", "L-4"))
    regroup_all()
    case_a = Case.objects.get(members__report_id=a1)
    case_b = Case.objects.get(members__report_id=b1)
    assert case_a.links
    assert case_b.links
    merged = client_for(Role.ANALYST, "SECRET").post(
        f"/api/v1/cases/{case_a.pk}/merge/", {"cases": [case_b.pk]}, format="json"
    )
    assert merged.status_code == 200, merged.content
    kept = Case.objects.get(pk=case_a.pk)
    assert {str(m.report_id) for m in kept.members.all()} == {a1, a2, b1, b2}
    # The links explain the whole merged case: together they connect all four reports.
    reached = {a1}
    for _ in range(4):
        for link in kept.links:
            if link["a"] in reached or link["b"] in reached:
                reached |= {link["a"], link["b"]}
    assert reached == {a1, a2, b1, b2}
