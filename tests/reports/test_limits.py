"""Oversized bodies and non-finite numbers on the analyst API: a JSON 4xx naming the problem,
nothing stored, never an HTML error page or a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from reports.models import Report
from tests.conftest import chip_report

pytestmark = pytest.mark.django_db


def test_an_oversized_body_gets_a_json_413(releaser: APIClient, settings: Any) -> None:
    body = chip_report()
    body["summary"] = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    answer = releaser.post("/api/v1/reports/", body, format="json")
    assert answer.status_code == 413
    assert answer["Content-Type"].startswith("application/json")
    assert "detail" in answer.json()
    assert Report.objects.count() == 0


@pytest.mark.parametrize("number", ["9e999", "-9e999", "NaN", "Infinity"])
def test_non_finite_numbers_are_refused(releaser: APIClient, number: str) -> None:
    body = chip_report(category="military_ai")
    body["details"] = {"organisation": {"name": "Invented Lab", "country": "CN"}}
    raw = (
        __import__("json")
        .dumps(body)
        .replace('"organisation"', f'"training_compute_flop": {number}, "organisation"')
    )
    answer = releaser.post("/api/v1/reports/", raw, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert answer["Content-Type"].startswith("application/json")
    assert Report.objects.count() == 0


@pytest.mark.parametrize("text", ["9e999", "1e40", "-3e25", "0"])
def test_training_compute_must_be_a_finite_plausible_number(releaser: APIClient, text: str) -> None:
    body = chip_report(category="military_ai")
    body["details"] = {
        "organisation": {"name": "Invented Lab", "country": "CN"},
        "capability": "Invented autonomous targeting model",
        "training_compute_flop": text,
    }
    answer = releaser.post("/api/v1/reports/", body, format="json")
    assert answer.status_code == 400, answer.content
    assert "details.training_compute_flop" in answer.json()
    assert Report.objects.count() == 0


def test_a_plausible_training_compute_is_accepted(releaser: APIClient) -> None:
    body = chip_report(category="military_ai")
    body["details"] = {
        "organisation": {"name": "Invented Lab", "country": "CN"},
        "capability": "Invented autonomous targeting model",
        "training_compute_flop": "3.2e25",
    }
    answer = releaser.post("/api/v1/reports/", body, format="json")
    assert answer.status_code == 201, answer.content
