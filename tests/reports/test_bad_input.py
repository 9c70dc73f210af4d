"""Every bad write gets a 400 naming the field, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from reports.models import Entity, Report, ReportEntity, ReportVersion
from tests.conftest import chip_report

pytestmark = pytest.mark.django_db
LIST = "/api/v1/reports/"


def nothing_written() -> bool:
    return (
        Report.objects.count(),
        ReportVersion.objects.count(),
        Entity.objects.count(),
        ReportEntity.objects.count(),
    ) == (0, 0, 0, 0)


def details(**changes: Any) -> dict[str, Any]:
    body = chip_report()["details"]
    body.update(changes)
    return body


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown category", {"category": "cyber"}, "category"),
    (
        "classification off the scale",
        {"markings": {"classification": "COSMIC", "rel_to": ["us"], "tlp": "amber"}},
        "markings.classification",
    ),
    (
        "unknown node in rel_to",
        {"markings": {"classification": "SECRET", "rel_to": ["us", "zz"], "tlp": "amber"}},
        "markings.rel_to",
    ),
    (
        "TLP clear on a secret",
        {"markings": {"classification": "SECRET", "rel_to": ["us"], "tlp": "clear"}},
        "markings.tlp",
    ),
    (
        "details of another category",
        {"details": {"organisation": {"name": "X"}, "capability": "y"}},
        "details.organisation",
    ),
    ("unknown details field", {"details": details(colour="red")}, "details.colour"),
    (
        "negative quantity",
        {"details": details(items=[{"model": "H100", "quantity": -4}])},
        "details.items.0.quantity",
    ),
    (
        "quantity as text",
        {"details": details(items=[{"model": "H100", "quantity": "many"}])},
        "details.items.0.quantity",
    ),
    ("bad country", {"details": details(route=["US", "XX"])}, "details.route.1"),
    ("unknown red flag", {"details": details(red_flags=["looks shady"])}, "details.red_flags.0"),
    ("oversized title", {"title": "x" * 201}, "title"),
    ("oversized summary", {"summary": "x" * 20_001}, "summary"),
    ("reliability off the scale", {"source_reliability": "G"}, "source_reliability"),
    ("credibility off the scale", {"info_credibility": 7}, "info_credibility"),
    ("credibility wrong type", {"info_credibility": [1]}, "info_credibility"),
    ("date malformed", {"event_start": "31/12/2026"}, "event_start"),
    ("end before start", {"event_start": "2026-05-02", "event_end": "2026-05-01"}, "event_end"),
    ("details not an object", {"details": ["items"]}, "details"),
    (
        "entity country malformed",
        {"entities": [{"kind": "person", "name": "N", "role": "officer", "country": "Singapore"}]},
        "entities.0.country",
    ),
]


@pytest.mark.parametrize(("name", "change", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_400_with_the_field_and_writes_nothing(
    releaser: APIClient, name: str, change: dict[str, Any], field: str
) -> None:
    answer = releaser.post(LIST, chip_report(**change), format="json")
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert field in body, body
    assert all(isinstance(message, str) for message in body[field])
    assert nothing_written()


def test_missing_required_fields(releaser: APIClient) -> None:
    answer = releaser.post(LIST, {"title": "only a title"}, format="json")
    assert answer.status_code == 400
    assert {"summary", "category", "markings", "details"} <= set(answer.json())
    assert nothing_written()


def test_malformed_uuid_is_404_not_500(releaser: APIClient) -> None:
    assert releaser.get(f"{LIST}not-a-uuid/").status_code == 404
    answer = releaser.put(f"{LIST}not-a-uuid/", chip_report(base_version=1), format="json")
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "raw",
    [
        b'{"title": "a", "title": "b"}',
        b"[" * 100_000,
        b'{"title": NaN}',
        b"\xff\xfe not utf-8",
        b"{not json",
    ],
    ids=["duplicate keys", "deep nesting", "NaN", "not utf-8", "malformed"],
)
def test_hostile_json_is_a_400(releaser: APIClient, raw: bytes) -> None:
    answer = releaser.generic("POST", LIST, raw, content_type="application/json")  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert nothing_written()


def test_filters_validate_their_input(releaser: APIClient) -> None:
    assert releaser.get(f"{LIST}?category=cyber").status_code == 400
    assert releaser.get(f"{LIST}?event_from=yesterday").status_code == 400
    assert releaser.get(f"{LIST}?classification=TOP").status_code == 400
