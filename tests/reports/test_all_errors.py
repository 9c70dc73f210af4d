"""The API answers every field error of a report request at once, not one stage at a time."""

from __future__ import annotations

from typing import Any

from reports.models import Report

from ..conftest import chip_report


def test_four_mistakes_come_back_in_one_answer(releaser: Any) -> None:
    body = chip_report(
        title="",
        markings={"classification": "OFFICIAL", "rel_to": ["fvey"], "orcon": False, "tlp": "red!"},
        event_start="2026-09-09",
        event_end="2026-09-01",
    )
    body["details"]["items"][0]["quantity"] = 0
    body["details"]["route"] = ["XX"]
    response = releaser.post("/api/v1/reports/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "title" in errors
    assert "details.items.0.quantity" in errors
    assert "details.route.0" in errors
    assert "markings.tlp" in errors
    assert Report.objects.count() == 0


def test_dates_in_the_wrong_order_are_reported_with_the_rest(releaser: Any) -> None:
    body = chip_report(event_start="2026-09-09", event_end="2026-09-01")
    body["details"]["items"][0]["quantity"] = -1
    errors = releaser.post("/api/v1/reports/", body, format="json").json()
    assert set(errors) == {"event_end", "details.items.0.quantity"}
