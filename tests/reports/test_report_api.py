"""The analyst report API against the real PostgreSQL: versions, scoping, permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from reports.models import Report, ReportEntity, ReportVersion
from tests.conftest import chip_report

pytestmark = pytest.mark.django_db
LIST = "/api/v1/reports/"


def create(client: APIClient, **overrides: Any) -> dict[str, Any]:
    answer = client.post(LIST, chip_report(**overrides), format="json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def test_create_read_and_list(releaser: APIClient) -> None:
    made = create(releaser, status="published")
    assert made["version"] == 1
    assert made["origin"] == "us"
    assert made["markings"] == {
        "classification": "CONFIDENTIAL",
        "rel_to": ["fvey", "jp"],
        "orcon": False,
        "tlp": "amber",
    }
    fetched = releaser.get(f"{LIST}{made['id']}/").json()
    assert fetched["details"]["items"][0]["quantity"] == 480
    roles = {(e["name"], e["role"]) for e in fetched["entities"]}
    assert ("Lumen Harbor Trading Pte Ltd", "consignee") in roles
    assert ("Invented Officer One", "officer") in roles
    listed = releaser.get(LIST).json()
    assert listed["count"] == 1
    assert listed["results"][0]["countries"] == ["CN", "HK", "MY", "SG", "US"]


def test_every_edit_makes_a_new_immutable_version(releaser: APIClient) -> None:
    made = create(releaser, status="published")
    body = chip_report(title="Revised: 960 units", base_version=1)
    body["details"]["items"][0]["quantity"] = 960
    revised = releaser.put(f"{LIST}{made['id']}/", body, format="json")
    assert revised.status_code == 200, revised.content
    assert revised.json()["version"] == 2
    history = releaser.get(f"{LIST}{made['id']}/versions/").json()
    assert [v["version"] for v in history] == [1, 2]
    assert history[0]["details"]["items"][0]["quantity"] == 480
    assert history[1]["details"]["items"][0]["quantity"] == 960
    first = ReportVersion.objects.get(report_id=made["id"], version=1)
    first.title = "rewritten history"
    with pytest.raises(RuntimeError):
        first.save()


def test_stale_edit_gets_409_and_writes_nothing(releaser: APIClient) -> None:
    made = create(releaser)
    releaser.put(f"{LIST}{made['id']}/", chip_report(base_version=1), format="json")
    stale = releaser.put(f"{LIST}{made['id']}/", chip_report(base_version=1), format="json")
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert ReportVersion.objects.filter(report_id=made["id"]).count() == 2


def test_withdraw_is_a_version_with_a_reason(releaser: APIClient) -> None:
    made = create(releaser, status="published")
    answer = releaser.post(
        f"{LIST}{made['id']}/withdraw/",
        {"base_version": 1, "reason": "source recanted"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "withdrawn"
    assert answer.json()["change_note"] == "Withdrawn: source recanted"
    again = releaser.put(f"{LIST}{made['id']}/", chip_report(base_version=2), format="json")
    assert again.status_code == 400


def test_filters(releaser: APIClient) -> None:
    create(releaser, status="published")
    military = {
        "category": "military_ai",
        "title": "Training run",
        "event_start": "2025-01-10",
        "markings": {
            "classification": "SECRET",
            "rel_to": ["us"],
            "orcon": True,
            "tlp": "amber+strict",
        },
        "details": {
            "organisation": {"name": "Strategic Algorithms Bureau", "country": "CN"},
            "capability": "swarm coordination",
            "training_compute_flop": "3.2e25",
        },
        "entities": [],
    }
    create(releaser, status="published", **military)

    def count(query: str) -> int:
        answer = releaser.get(f"{LIST}?{query}")
        assert answer.status_code == 200, answer.content
        return answer.json()["count"]

    assert count("category=military_ai") == 1
    assert count("country=SG") == 1
    assert count("country=CN") == 2
    assert count("classification=SECRET") == 1
    assert count("rel_to=jp") == 1
    assert count("origin=us") == 2
    assert count("origin=uk") == 0
    assert count("event_from=2026-01-01") == 1
    assert count("status=draft") == 0
    assert count("search=training") == 1


def test_pagination(releaser: APIClient) -> None:
    for index in range(55):
        create(releaser, title=f"report {index}")
    first = releaser.get(LIST).json()
    assert first["count"] == 55
    assert len(first["results"]) == 50
    assert len(releaser.get(f"{LIST}?page=2").json()["results"]) == 5


def test_users_see_nothing_above_their_clearance(
    releaser: APIClient, client_for: Callable[..., APIClient]
) -> None:
    secret = create(
        releaser,
        status="published",
        markings={"classification": "SECRET", "rel_to": ["fvey"], "orcon": False, "tlp": "amber"},
    )
    create(
        releaser,
        status="published",
        markings={"classification": "OFFICIAL", "rel_to": ["fvey"], "orcon": False, "tlp": "green"},
    )
    low = client_for(Role.ANALYST, "RESTRICTED")
    listed = low.get(LIST).json()
    assert listed["count"] == 1
    assert listed["results"][0]["markings"]["classification"] == "OFFICIAL"
    assert low.get(f"{LIST}{secret['id']}/").status_code == 404
    assert low.get(f"{LIST}{secret['id']}/versions/1/").status_code == 404


def test_history_hides_versions_above_clearance(
    releaser: APIClient, client_for: Callable[..., APIClient]
) -> None:
    made = create(
        releaser,
        status="published",
        markings={"classification": "SECRET", "rel_to": ["fvey"], "orcon": False, "tlp": "amber"},
    )
    releaser.put(
        f"{LIST}{made['id']}/",
        chip_report(
            base_version=1,
            markings={
                "classification": "OFFICIAL",
                "rel_to": ["fvey"],
                "orcon": False,
                "tlp": "green",
            },
        ),
        format="json",
    )
    low = client_for(Role.ANALYST, "OFFICIAL")
    history = low.get(f"{LIST}{made['id']}/versions/").json()
    assert [v["version"] for v in history] == [2]


def test_cannot_write_above_own_clearance(client_for: Callable[..., APIClient]) -> None:
    low = client_for(Role.RELEASER, "CONFIDENTIAL")
    answer = low.post(
        LIST,
        chip_report(
            markings={
                "classification": "SECRET",
                "rel_to": ["fvey"],
                "orcon": False,
                "tlp": "amber",
            }
        ),
        format="json",
    )
    assert answer.status_code == 403
    assert Report.objects.count() == 0


def test_publishing_needs_the_releaser_role(analyst: APIClient) -> None:
    answer = analyst.post(LIST, chip_report(status="published"), format="json")
    assert answer.status_code == 403
    assert Report.objects.count() == 0
    draft = analyst.post(LIST, chip_report(), format="json")
    assert draft.status_code == 201
    publish = analyst.put(
        f"{LIST}{draft.json()['id']}/",
        chip_report(base_version=1, status="published"),
        format="json",
    )
    assert publish.status_code == 403
    assert ReportVersion.objects.count() == 1


def test_drafts_stay_with_their_author(
    analyst: APIClient, client_for: Callable[..., APIClient]
) -> None:
    create(analyst)
    other = client_for(Role.ANALYST, "SECRET")
    assert other.get(LIST).json()["count"] == 0
    assert client_for(Role.RELEASER, "SECRET").get(LIST).json()["count"] == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_unauthenticated_requests_get_no_data(method: str, releaser: APIClient) -> None:
    create(releaser, status="published")
    anonymous = APIClient()
    answer = getattr(anonymous, method)(LIST, chip_report(), format="json")
    assert answer.status_code in (401, 403)
    assert "results" not in answer.json()
    assert Report.objects.count() == 1


def test_token_authentication_for_scripts(make_user: Callable[..., Any]) -> None:
    from rest_framework.authtoken.models import Token

    user = make_user(role=Role.ANALYST, clearance="OFFICIAL")
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/me/").json()["clearance"] == "OFFICIAL"
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/me/").status_code == 401


def test_entities_are_shared_between_reports(releaser: APIClient) -> None:
    create(releaser)
    create(releaser)
    consignee_links = ReportEntity.objects.filter(
        role="consignee", entity__normalized_name="lumen harbor trading pte ltd"
    )
    assert consignee_links.count() == 2
    assert consignee_links.values("entity").distinct().count() == 1


def test_openapi_schema_is_served(releaser: APIClient) -> None:
    answer = releaser.get("/api/schema/?format=json")
    assert answer.status_code == 200
    assert "/api/v1/reports/" in answer.json()["paths"]
