"""The adapter to exportcontrol: real answers when importable, neutral (missing) otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from riskscore import domain
from riskscore.features import build_features

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def no_exportcontrol(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for cached in (domain.chip_facts, domain.destination_risk, domain.transit_risk):
        cached.cache_clear()
    monkeypatch.setattr(domain, "_backend", lambda: None)
    yield
    for cached in (domain.chip_facts, domain.destination_risk, domain.transit_risk):
        cached.cache_clear()


@pytest.mark.usefixtures("no_exportcontrol")
def test_fallback_is_neutral_and_turns_features_missing() -> None:
    assert not domain.available()
    assert domain.chip_facts("H100 SXM") is None
    assert domain.destination_risk("CN") is None
    assert domain.transit_risk("SG") is None
    assert domain.is_prc_accelerator("Huawei Ascend 910B")  # name-based, works without it
    report = {
        "id": "r",
        "origin": "us",
        "category": "chip_diversion",
        "status": "published",
        "details": {"items": [{"model": "H100 SXM", "quantity": 8}], "route": ["US", "CN"]},
    }
    matrix = build_features([[report]], None, NOW)
    missing = dict(zip(matrix.feature_names, matrix.missing[0].tolist(), strict=True))
    assert missing["controlled_item"]
    assert missing["final_destination_risk"]
    assert missing["h100e_log"]


@pytest.mark.skipif(not domain.available(), reason="exportcontrol is not importable")
def test_real_package_answers_through_the_adapter() -> None:
    h100 = domain.chip_facts("H100 SXM")
    assert h100 is not None
    assert h100.eccn == "3A090.a"
    assert h100.h100_equivalents == pytest.approx(1.0, rel=0.01)
    h20 = domain.chip_facts("H20")
    assert h20 is not None
    assert h20.eccn is None
    assert domain.chip_facts("Not A Real Chip 123") is None
    assert domain.destination_risk("CN") == 1.0
    assert domain.destination_risk("XX") is None  # invalid code: unknown, not safe
    assert 0.0 <= (domain.transit_risk("SG") or 0.0) <= 1.0
    assert domain.is_transshipment_hub("sg")
    assert not domain.is_transshipment_hub("DE")
