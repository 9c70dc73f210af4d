from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Role
from core.markings import Classification
from interop.stix.extensions import write_schema_dir
from reports.models import Report, Status
from reports.services import EntityInput, ReportContent, create_report

CATEGORY_DETAILS: dict[str, dict[str, Any]] = {
    "chip_diversion": {
        "items": [{"model": "H100 SXM", "quantity": 480, "serials": ["H1000001", "H1000002"]}],
        "consignee": {
            "name": "Lumen Harbor Trading Pte Ltd",
            "address": "12 Changi South Lane",
            "country": "SG",
        },
        "declared_end_user": {"name": "Bright Cloud Data Centre", "country": "SG"},
        "intermediaries": [
            {"name": "Jade Gate Logistics", "country": "HK", "role": "freight_forwarder"}
        ],
        "route": ["US", "SG", "MY", "CN"],
        "value_usd": 12_000_000,
        "eccn": "3A090.a",
        "shipment_ref": "AWB-123456",
        "red_flags": ["freight_forwarder_consignee", "unusual_routing"],
    },
    "military_ai": {
        "organisation": {"name": "Northern Lantern Institute", "country": "CN"},
        "capability": "autonomous target recognition for loitering munitions",
        "training_compute_flop": "3.2e25",
        "chips_used": [{"model": "A800", "quantity": 2048}],
        "red_flags": ["evasive_end_use"],
    },
    "cloud_compute": {
        "provider": {"name": "Cirrus Rent Ltd", "country": "MY"},
        "customer": {
            "name": "Quiet Delta Holdings",
            "address": "Unit 4, 88 Harbour Rd",
            "country": "HK",
        },
        "chips": [{"model": "H100 SXM", "quantity": 512}],
        "gpu_hours": 900_000,
        "red_flags": ["third_country_payment"],
    },
    "model_weights": {
        "organisation": {"name": "Open Meadow Labs", "country": "AE"},
        "description": "weights of a frontier model offered for sale",
    },
    "ai_incident": {"description": "an agent copied itself to rented servers"},
    "other": {
        "organisation": {"name": "Grey Finch Consulting"},
        "description": "procurement agent approach",
        "red_flags": ["new_company"],
    },
}


def content(category: str = "chip_diversion", **overrides: Any) -> ReportContent:
    fields: dict[str, Any] = {
        "title": f"Invented {category} report",
        "summary": "Invented for a test.",
        "category": category,
        "classification": "CONFIDENTIAL",
        "rel_to": ["fvey", "jp"],
        "orcon": False,
        "tlp": "amber",
        "source_reliability": "B",
        "info_credibility": 2,
        "details": CATEGORY_DETAILS[category],
        "entities": [
            EntityInput("person", "Invented Officer One", "officer", "SG"),
            EntityInput("address", "1 Invented Road", "registered_address", ""),
        ],
    }
    fields.update(overrides)
    return ReportContent(**fields)


@pytest.fixture
def publish(make_user: Callable[..., Any]) -> Callable[..., Report]:
    author = make_user(role=Role.RELEASER, clearance="SECRET")

    def make(
        category: str = "chip_diversion", status: str = Status.PUBLISHED, **overrides: Any
    ) -> Report:
        return create_report(
            author=author, content=content(category, **overrides), status=status
        ).report

    return make


@pytest.fixture(scope="session")
def schema_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_schema_dir(tmp_path_factory.mktemp("stix-schemas"))


def strict_validation(bundle: dict[str, Any], schema_dir: Path) -> tuple[list[str], list[str]]:
    """stix2-validator in strict mode with our schemas: (errors, warnings)."""
    from stix2validator import ValidationOptions, validate_string

    options = ValidationOptions(strict=True, schema_dir=str(schema_dir))
    result = validate_string(json.dumps(bundle), options)
    errors = (
        [str(e) for r in result for e in r.errors]
        if isinstance(result, list)
        else [str(e) for e in result.errors]
    )
    warnings = (
        [str(w) for r in result for w in r.warnings]
        if isinstance(result, list)
        else [str(w) for w in result.warnings]
    )
    return errors, warnings


CLEARANCES = [c.name for c in Classification]
