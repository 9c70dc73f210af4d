"""Report factories for the case tests: chip-diversion reports that differ in one thing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Role
from reports.models import Status
from reports.services import ReportContent, create_report
from tests.conftest import chip_report

SECRET = {"classification": "SECRET", "rel_to": ["fvey"], "orcon": False, "tlp": "amber"}
OFFICIAL = {"classification": "OFFICIAL", "rel_to": ["fvey"], "orcon": False, "tlp": "amber"}


def content(**overrides: Any) -> ReportContent:
    body = chip_report(**overrides)
    markings = body.pop("markings")
    body.pop("entities")
    return ReportContent(
        title=body["title"],
        summary=body["summary"],
        category=body["category"],
        classification=markings["classification"],
        rel_to=markings["rel_to"],
        orcon=markings["orcon"],
        tlp=markings["tlp"],
        source_reliability=body["source_reliability"],
        info_credibility=body["info_credibility"],
        details=body["details"],
    )


def details(consignee: str, serial: str, **changes: Any) -> dict[str, Any]:
    body = chip_report()["details"]
    body["consignee"] = {"name": consignee, "address": "1 Invented Road", "country": "SG"}
    body["items"] = [{"model": "H100 SXM", "quantity": 480, "serials": [serial]}]
    body["shipment_ref"] = None
    body.update(changes)
    return body


@pytest.fixture
def author(make_user: Callable[..., Any]) -> Any:
    return make_user(role=Role.RELEASER, clearance="SECRET")


def publish(author: Any, **overrides: Any) -> str:
    version = create_report(author=author, content=content(**overrides), status=Status.PUBLISHED)
    return str(version.report_id)
