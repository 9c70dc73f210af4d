from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import create_user
from core.markings import Classification


@pytest.fixture(autouse=True)
def _node_keys_vouched_for(request: pytest.FixtureRequest) -> None:
    """A database test starts with online keys the (test) offline root vouched for, as a node
    does after its first key ceremony."""
    if not {"db", "transactional_db"} & set(request.fixturenames):
        return
    request.getfixturevalue(
        "transactional_db" if "transactional_db" in request.fixturenames else "db"
    )
    from tests.support.ceremony import run_ceremony

    run_ceremony()


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    counter = {"n": 0}

    def make(role: str = Role.ANALYST, clearance: str = "SECRET", **kwargs: Any) -> Any:
        counter["n"] += 1
        return create_user(
            username=f"{role}-{clearance.lower()}-{counter['n']}",
            password="correct horse battery staple",
            role=role,
            clearance=Classification[clearance],
            **kwargs,
        )

    return make


@pytest.fixture
def client_for(make_user: Callable[..., Any]) -> Callable[..., APIClient]:
    def make(role: str = Role.ANALYST, clearance: str = "SECRET") -> APIClient:
        client = APIClient()
        client.force_authenticate(make_user(role=role, clearance=clearance))
        return client

    return make


@pytest.fixture
def releaser(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(Role.RELEASER, "SECRET")


@pytest.fixture
def analyst(client_for: Callable[..., APIClient]) -> APIClient:
    return client_for(Role.ANALYST, "SECRET")


def chip_report(**overrides: Any) -> dict[str, Any]:
    """A valid chip-diversion report body; tests change one thing at a time."""
    body: dict[str, Any] = {
        "title": "480 × H100 SXM via Singapore to a reseller",
        "summary": "Declared for a data centre in Singapore; onward movement suspected.",
        "category": "chip_diversion",
        "markings": {
            "classification": "CONFIDENTIAL",
            "rel_to": ["fvey", "jp"],
            "orcon": False,
            "tlp": "amber",
        },
        "source_reliability": "B",
        "info_credibility": 2,
        "event_start": "2026-09-01",
        "details": {
            "items": [{"model": "H100 SXM", "quantity": 480, "serials": ["H1000001"]}],
            "consignee": {
                "name": "Lumen Harbor Trading Pte Ltd",
                "address": "12 Changi South Lane",
                "country": "SG",
            },
            "intermediaries": [
                {"name": "Jade Gate Logistics", "country": "HK", "role": "freight_forwarder"}
            ],
            "route": ["US", "SG", "MY", "CN"],
            "value_usd": 12_000_000,
            "eccn": "3A090.a",
            "shipment_ref": "AWB-123456",
            "red_flags": ["freight_forwarder_consignee"],
        },
        "entities": [
            {"kind": "person", "name": "Invented Officer One", "role": "officer", "country": "SG"}
        ],
    }
    body.update(overrides)
    return body
