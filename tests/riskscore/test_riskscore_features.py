"""Feature building on hand-built cases, missing-value semantics, monotonicity, DEFAULT_CONFIG.

Geography and chip figures come from ``exportcontrol`` through ``riskscore.domain``; most tests
pin them with a fake so the arithmetic is checked exactly whatever the catalogue says. One test
runs against the real package when it is importable.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from riskscore import domain
from riskscore.engine import ScoringConfig, score
from riskscore.features import (
    DEFAULT_CONFIG,
    FEATURE_NAMES,
    FEATURES,
    RED_FLAGS,
    build_features,
    report_quality,
)
from riskscore.matching import ScreeningIndex

NOW = datetime(2026, 11, 1, tzinfo=UTC)

_CHIPS = {
    "H100 SXM": domain.ChipFacts("H100 SXM", "3A090.a", 15_830.0, 1.0, False),
    "H20": domain.ChipFacts("H20", None, 2_368.0, 0.1496, False),
    "Ascend 910B": domain.ChipFacts("Ascend 910B", "3A090.a", 5_120.0, 0.3234, True),
}
_DEST = {"CN": 1.0, "MY": 0.6, "SG": 0.6, "AE": 0.6, "DE": 0.05, "US": 0.05}
_TRANSIT = {"CN": 1.0, "MY": 0.8, "SG": 0.8, "AE": 0.8, "DE": 0.05, "US": 0.05}


@pytest.fixture
def fake_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(domain, "chip_facts", lambda model: _CHIPS.get(model))
    monkeypatch.setattr(domain, "destination_risk", lambda code: _DEST.get(code or ""))
    monkeypatch.setattr(domain, "transit_risk", lambda code: _TRANSIT.get(code or ""))


def diversion_report(rid: str = "r1", origin: str = "us", **overrides: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "id": rid,
        "version": 1,
        "origin": origin,
        "title": "Invented shipment",
        "summary": "",
        "category": "chip_diversion",
        "status": "published",
        "event_start": "2026-09-02",
        "event_end": None,
        "reported_at": "2026-10-02T09:00:00Z",
        "source_reliability": "B",
        "info_credibility": 2,
        "markings": {"classification": "RESTRICTED", "rel_to": ["fvey"], "orcon": False},
        "relayed_by": [],
        "details": {
            "items": [{"model": "H100 SXM", "quantity": 240, "serials": ["SN-000123"]}],
            "declared_end_user": {"name": "Orvak Data Sdn Bhd", "country": "MY"},
            "suspected_end_user": {"name": "Dravon Systems", "country": "CN"},
            "consignee": {
                "name": "Lumtek Logistics Pte Ltd",
                "address": "10 Anson Road #20-01",
                "country": "SG",
            },
            "intermediaries": [
                {"name": "Kavril Trading FZE", "address": None, "country": "AE", "role": "shell"}
            ],
            "route": ["US", "SG", "MY", "CN"],
            "value_usd": 7_200_000,
            "eccn": "3A090.a",
            "shipment_ref": None,
            "red_flags": ["freight_forwarder_consignee", "new_company"],
        },
        "entities": [],
    }
    report.update(overrides)
    return report


def second_report() -> dict[str, Any]:
    r = diversion_report("r2", origin="gb", source_reliability="C", info_credibility=3)
    r["reported_at"] = "2026-10-05T00:00:00Z"
    r["event_start"] = None
    r["details"] = {
        "items": [{"model": "H100 SXM", "quantity": 240}],
        "consignee": {"name": "Lumtek Logistics", "country": "SG"},
        "red_flags": ["cash_payment", "freight_forwarder_consignee"],
    }
    return r


def row(matrix: Any, i: int = 0) -> dict[str, float]:
    return dict(zip(matrix.feature_names, matrix.X[i].tolist(), strict=True))


@pytest.mark.usefixtures("fake_domain")
def test_hand_built_case_has_the_expected_feature_values() -> None:
    r1 = diversion_report()
    relay = {**r1, "relayed_by": ["gb"]}
    matrix = build_features([[r1, relay, second_report()]], None, NOW)
    f = row(matrix)
    q_b2 = 0.8 * 0.7 / (0.95 * 0.9)
    q_c3 = 0.6 * 0.5 / (0.95 * 0.9)
    expected = {
        "cat_chip_diversion": 1.0,
        "cat_military_ai": 0.0,
        "controlled_item": 1.0,
        "h100e_log": math.log10(1 + 240) / 5,  # one shipment, not two
        "prc_accelerator": 0.0,
        "declared_vs_destination": 1.0,  # declared MY, shipped on to CN
        "final_destination_risk": 1.0,
        "transit_risk": 0.8,
        "transshipment_hub": 1.0,
        "end_user_mismatch": 1.0,
        "route_hops": 2 / 3,
        "mass_registration_address": 0.0,
        "shell_intermediary": 1.0,
        "intermediary_count": 0.25,
        "rf_freight_forwarder_consignee": 1 - (0.5 - 0.5 * q_b2) * (0.5 - 0.5 * q_c3),
        "rf_new_company": 0.5 + 0.5 * q_b2,
        "rf_cash_payment": 0.5 + 0.5 * q_c3,
        "rf_residential_address": 0.0,
        "red_flag_count": 3 / 5,
        "quantity_vs_buyer": math.log10(1 + 240) / 3,  # new company ordering 240 H100
        "source_quality": q_b2,
        "corroboration": 0.5,  # us + gb; the gb relay of r1 is not a third source
        "recency": 2 ** (-27 / 180),
        "training_compute_1e25": 0.0,
        "military_capability": 0.0,
        "cloud_training_flop": 0.0,
        "value_anomaly": math.log10(7_200_000 / (240 * 25_000)) / math.log10(4),
        "missing_fields": 1 / 7,  # no shipment reference anywhere
    }
    for name, value in expected.items():
        assert f[name] == pytest.approx(value, abs=1e-9), name
    missing = dict(zip(matrix.feature_names, matrix.missing[0].tolist(), strict=True))
    assert missing["screening_match"]
    assert missing["listed_officer_link"]
    assert not missing["final_destination_risk"]
    assert len(matrix.case_ids) == 1


@pytest.mark.usefixtures("fake_domain")
def test_unknown_values_are_missing_not_zero() -> None:
    r = diversion_report()
    d = r["details"]
    d["items"] = [{"model": "Mystery Accelerator 9000", "quantity": 5}]
    d.update(eccn=None, route=[], suspected_end_user=None, intermediaries=[])
    d["declared_end_user"] = {"name": "Orvak Data", "country": "ZZ"}
    d["consignee"] = {"name": "Lumtek", "country": None, "address": None}
    r.update(event_start=None, reported_at=None)
    matrix = build_features([[r]], None, NOW)
    missing = dict(zip(matrix.feature_names, matrix.missing[0].tolist(), strict=True))
    for name in (
        "controlled_item",
        "h100e_log",
        "final_destination_risk",
        "declared_vs_destination",
        "transit_risk",
        "route_hops",
        "recency",
        "value_anomaly",
        "mass_registration_address",
    ):
        assert missing[name], name
        assert math.isnan(row(matrix)[name])
    result = score(matrix.X, matrix.missing, DEFAULT_CONFIG, None)
    by_name = {c.feature: c for c in result.explain(0).contributions}
    assert by_name["final_destination_risk"].missing
    assert by_name["final_destination_risk"].points > 0
    assert by_name["controlled_item"].value == pytest.approx(0.5)


@pytest.mark.usefixtures("fake_domain")
def test_missing_destination_scores_above_a_known_safe_one() -> None:
    safe = diversion_report()
    d = safe["details"]
    d.update(suspected_end_user=None, route=["US", "DE"], intermediaries=[])
    d["declared_end_user"] = {"name": "Orvak Data", "country": "DE"}
    d["consignee"] = {"name": "Lumtek", "country": "DE", "address": None}
    unknown = copy.deepcopy(safe)
    unknown["details"]["declared_end_user"]["country"] = None
    unknown["details"]["route"] = []
    matrix = build_features([[safe], [unknown]], None, NOW)
    scores = score(matrix.X, matrix.missing, DEFAULT_CONFIG, None).scores
    assert scores[1] > scores[0]


@pytest.mark.usefixtures("fake_domain")
def test_more_red_flags_never_lower_the_score() -> None:
    rng = random.Random(5)
    base = diversion_report()
    base["details"]["red_flags"] = []
    for _ in range(40):
        subset = set(rng.sample(RED_FLAGS, rng.randint(0, 9)))
        superset = subset | {rng.choice(RED_FLAGS)}
        cases = []
        for flags in (subset, superset):
            r = copy.deepcopy(base)
            r["details"]["red_flags"] = sorted(flags)
            cases.append([r, second_report()])
        matrix = build_features(cases, None, NOW)
        scores = score(matrix.X, matrix.missing, DEFAULT_CONFIG, None).scores
        assert scores[1] >= scores[0]


def test_default_weights_are_non_negative_so_scores_are_monotone() -> None:
    assert all(w >= 0 for w in DEFAULT_CONFIG.weights)
    assert DEFAULT_CONFIG.version == "2026-12-default"
    assert len(FEATURE_NAMES) >= 50
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert all(spec.description and spec.group for spec in FEATURES)
    assert ScoringConfig.from_dict(DEFAULT_CONFIG.to_dict()) == DEFAULT_CONFIG


@pytest.mark.usefixtures("fake_domain")
def test_withdrawn_reports_and_relays_add_nothing() -> None:
    r1 = diversion_report()
    withdrawn = diversion_report("w", origin="jp")
    withdrawn["details"]["red_flags"] = list(RED_FLAGS)
    tombstone = {**withdrawn, "version": 2, "status": "withdrawn"}
    relays = [{**r1, "relayed_by": [node]} for node in ("gb", "ca", "au")]
    plain = row(build_features([[r1]], None, NOW))
    noisy = row(build_features([[r1, *relays, withdrawn, tombstone]], None, NOW))
    for name in FEATURE_NAMES:
        assert noisy[name] == pytest.approx(plain[name], nan_ok=True), name


@pytest.mark.usefixtures("fake_domain")
def test_screening_and_address_rarity_features() -> None:
    index = ScreeningIndex.build(
        [
            {
                "id": "EL-1",
                "name": "Dravon Systems Co., Ltd.",
                "addresses": [{"address": "Room 5, 8 Harbour Lane", "country": "HK"}],
            },
            {"id": "SDN-2", "name": "Kelbrin Ostrava", "type": "Individual"},
        ]
    )
    listed_party = diversion_report()
    officer = diversion_report("o1")
    officer["details"]["suspected_end_user"] = None
    officer["entities"] = [{"kind": "person", "name": "Ostrava Kelbrin", "role": "officer"}]
    shared = "8 Harbour Lane, Room 5"
    agents = []
    for i in range(4):  # four unrelated firms at one formation-agent address
        r = diversion_report(f"f{i}")
        r["details"].update(suspected_end_user=None)
        r["details"]["consignee"] = {
            "name": f"Firm Number {i} Ltd",
            "address": shared,
            "country": "HK",
        }
        agents.append([r])
    matrix = build_features([[listed_party], [officer], *agents], index, NOW)
    f0, f1, f2 = row(matrix, 0), row(matrix, 1), row(matrix, 2)
    assert f0["screening_match"] > 0.5
    assert f0["screening_exact"] in (0.0, 1.0)
    assert f1["listed_officer_link"] > 0.85
    assert math.isnan(f0["listed_officer_link"])  # no officers reported: missing, not 0
    assert f2["mass_registration_address"] == pytest.approx(1 - 1 / math.sqrt(4))
    assert 0 < f2["listed_address_link"] <= 0.5 + 1e-9  # cosine / sqrt(4 firms)


@pytest.mark.usefixtures("fake_domain")
def test_military_and_cloud_features() -> None:
    mil = diversion_report("m", category="military_ai")
    mil["details"] = {
        "organisation": {"name": "Dravon Defence Institute", "country": "CN"},
        "capability": "automatic target recognition for unmanned aerial systems",
        "training_compute_flop": "3.2e25",
        "chips_used": [{"model": "Ascend 910B", "quantity": 4096}],
        "red_flags": [],
    }
    cloud = diversion_report("c", category="cloud_compute")
    cloud["details"] = {
        "provider": {"name": "Nimbra Cloud", "country": "US"},
        "customer": {"name": "Orvak Data", "country": "CN", "address": None},
        "chips": [{"model": "H100 SXM", "quantity": 512}],
        "gpu_hours": 999_999,
        "description": "API calls resembling distillation of a frontier model",
        "red_flags": [],
    }
    m, c = (
        row(build_features([[mil], [cloud]], None, NOW), 0),
        row(build_features([[cloud]], None, NOW), 0),
    )
    assert m["training_compute_1e25"] == 1.0
    assert m["training_compute_1e26"] == pytest.approx(math.log10(3.2e25) - 25)
    assert m["military_capability"] == 1.0
    assert m["military_end_user"] == 1.0  # "Defence" in the organisation's name
    assert m["controlled_chips_used"] == 1.0
    assert m["cluster_size"] == 1.0  # 4,096 accelerators: past the 1,000 mark
    assert m["prc_accelerator"] == 1.0
    assert m["cat_military_ai"] == 1.0
    flop = 999_999 * 3600 * 989.4e12 * 0.4
    assert c["cloud_training_flop"] == pytest.approx((math.log10(flop) - 23) / 2)
    assert c["cloud_customer_risk"] == 1.0
    assert c["distillation"] == 1.0
    assert c["training_compute_1e25"] == 0.0  # not applicable, not missing


def test_columns_follow_the_config_order() -> None:
    names = tuple(reversed(FEATURE_NAMES[:5]))
    config = ScoringConfig("custom", names, (1.0,) * 5, -1.0, (0.0,) * 5, 30.0)
    matrix = build_features([[diversion_report()]], None, NOW, config)
    assert matrix.feature_names == names
    assert matrix.X.shape == (1, 5)
    with pytest.raises(KeyError, match="does not know"):
        build_features(
            [[diversion_report()]],
            None,
            NOW,
            ScoringConfig("bad", ("nope",), (1.0,), 0.0, (0.0,), 30.0),
        )


def test_report_quality_follows_the_admiralty_scale() -> None:
    grades = [
        report_quality({"source_reliability": r, "info_credibility": c})
        for r, c in itertools.product("ABCDE", (1, 2, 3, 4, 5))
    ]
    assert report_quality({"source_reliability": "A", "info_credibility": 1}) == 1.0
    assert max(grades) == 1.0
    assert min(grades) > 0
    assert report_quality({}) == report_quality({"source_reliability": "F", "info_credibility": 6})
    assert report_quality({"source_reliability": "A", "info_credibility": 5}) < report_quality(
        {"source_reliability": "A", "info_credibility": 2}
    )


@pytest.mark.skipif(not domain.available(), reason="exportcontrol is not importable")
def test_real_exportcontrol_package_drives_item_and_geography_features() -> None:
    matrix = build_features([[diversion_report()]], None, NOW)
    f = row(matrix)
    assert f["controlled_item"] == 1.0  # H100 SXM is 3A090.a
    assert f["final_destination_risk"] == 1.0  # CN is D:5
    assert 0.9 < f["h100e_log"] * 5 / math.log10(241) < 1.1  # ~1 H100-equivalent per unit
    assert not np.isnan(f["transit_risk"])
