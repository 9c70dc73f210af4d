"""Screening strength (distinctive tokens must agree), exact explanations, feature families
tested one by one, and the disposition fit."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from riskscore import features as F
from riskscore.engine import score
from riskscore.explain import explain_row, explanation_sums, rounded_points
from riskscore.features import DEFAULT_CONFIG, build_features, case_contexts
from riskscore.fit import FitError, evaluate, fit_config, holdout_mask
from riskscore.matching import STRONG_MATCH, ScreeningIndex, screen_names

NOW = datetime(2026, 11, 1, tzinfo=UTC)
LISTED: list[dict[str, Any]] = [
    {"id": "EL-1", "name": "Golden Bridge Industrial Co., Ltd.", "addresses": [{"country": "HK"}]},
    {"id": "EL-2", "name": "Zhenbao Quantum Technology Limited", "alt_names": ["ZQT Holdings"]},
    {"id": "SDN-3", "name": "Tekhnosfera OOO", "addresses": [{"country": "RU"}]},
    {"id": "EL-4", "name": "Silverline Trading FZE", "addresses": [{"country": "AE"}]},
]
OWN = ["Golden Bridge Logistics Co., Ltd.", "Pacific Star Logistics", "Harbour Trading Co"]


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return ScreeningIndex.build(LISTED)


@pytest.mark.parametrize(
    "query",
    [
        "Golden Bridge Industrial Co Ltd",  # legal form written differently
        "Goldne Bridge Industrial",  # typo (transposition)
        "Industrial Golden Bridge Limited",  # word order
        "GoldenBridge Industrial",  # joined words
        "Ооо Техносфера",  # Cyrillic, transliterated
        "Technosfera LLC",  # romanisation variant, other legal form
        "ZQT Holdings",  # alias
        "Zhenbao Quantum Tech",  # abbreviation
        "SILVER LINE TRADING",  # spacing and case
    ],
)
def test_true_variants_are_strong_matches(index: ScreeningIndex, query: str) -> None:
    [hit] = screen_names(index, [query], own_names=OWN)
    assert hit.strength >= STRONG_MATCH, hit.evidence
    assert hit.evidence is not None


@pytest.mark.parametrize(
    "query",
    [
        "Golden Bridge Logistics Co., Ltd.",  # same distinctive words, another business
        "Silver Bridge Industrial",  # one distinctive word replaced
        "Silverlake Trading FZE",  # a different distinctive word two edits away
        "Zhenbao Harbour Technology",  # shares one rare word only
    ],
)
def test_near_miss_distinct_names_are_not_strong(index: ScreeningIndex, query: str) -> None:
    [hit] = screen_names(index, [query], own_names=OWN)
    assert hit.strength < 0.2, hit.evidence
    if hit.evidence is not None and hit.evidence.conflicting:
        assert "differ" in hit.evidence.text()


def test_a_listed_party_in_another_country_weighs_less(index: ScreeningIndex) -> None:
    same, other = screen_names(index, ["Tekhnosfera", "Tekhnosfera"], ["RU", "DE"])
    assert same.evidence is not None
    assert same.evidence.country == "agrees"
    assert other.evidence is not None
    assert other.evidence.country == "differs"
    assert other.strength < same.strength


def _case(category: str, details: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    report = {
        "id": f"{category}-1",
        "origin": "us",
        "category": category,
        "status": "published",
        "source_reliability": "B",
        "info_credibility": 2,
        "details": details,
        **extra,
    }
    return [report]


def _ctx(case: list[dict[str, Any]], index: ScreeningIndex | None = None) -> F.CaseContext:
    return case_contexts([case], index, NOW)[0]


def test_geography_family_flags_declared_country_against_destination() -> None:
    shipped_on = _ctx(_case("chip_diversion", {"declared_end_user": {"name": "A", "country": "SG"},
                                               "route": ["US", "SG", "CN"]}))  # fmt: skip
    stays = _ctx(_case("chip_diversion", {"declared_end_user": {"name": "A", "country": "SG"},
                                          "route": ["US", "SG"]}))  # fmt: skip
    assert F.geography_features(shipped_on)["declared_vs_destination"] == 1.0
    assert F.geography_features(stays)["declared_vs_destination"] == 0.0
    unknown = _ctx(_case("chip_diversion", {"route": ["US", "SG"]}))
    assert F.geography_features(unknown)["declared_vs_destination"] is None  # missing, not 0


def test_model_weights_family() -> None:
    leak = _ctx(_case("model_weights", {"training_compute_flop": "3e26", "channel": "leak",
                                         "recipient": {"name": "R", "country": "CN"}}))  # fmt: skip
    release = _ctx(_case("model_weights", {"training_compute_flop": "1e24",
                                            "description": "open-weight release"}))  # fmt: skip
    a, b = F.model_weights_features(leak), F.model_weights_features(release)
    assert a == {"weights_compute": 1.0, "weights_channel": 1.0, "weights_recipient_risk": 1.0}
    assert b["weights_compute"] == 0.0
    assert b["weights_channel"] == pytest.approx(0.1)
    assert b["weights_recipient_risk"] is None


def test_incident_family() -> None:
    ctx = _ctx(_case("ai_incident", {"capabilities": ["self_replication"], "scale": 999,
                                      "description": "then evaded detection",
                                      "actor": {"name": "X", "type": "state"}}))  # fmt: skip
    f = F.incident_features(ctx)
    assert f["incident_capabilities"] == 0.5  # self-replication and evasion of four
    assert f["incident_scale"] == pytest.approx(math.log10(1000) / 3)
    assert f["incident_actor"] == 1.0
    assert F.incident_features(_ctx(_case("other", {}))) == dict.fromkeys(f, 0.0)


def test_item_family_serial_seen_in_another_case() -> None:
    item = {"items": [{"model": "H100 SXM", "quantity": 8, "serials": ["sn-1"]}]}
    contexts = case_contexts([_case("chip_diversion", item), _case("chip_diversion", item)],
                             None, NOW)  # fmt: skip
    assert F.item_features(contexts[0])["serial_reuse"] == 1.0
    alone = case_contexts([_case("chip_diversion", item)], None, NOW)
    assert F.item_features(alone[0])["serial_reuse"] == 0.0


def test_category_source_and_network_families() -> None:
    ctx = _ctx(_case("cloud_compute", {"intermediaries": [{"name": "S", "role": "shell"}]}))
    assert F.category_features(ctx)["cat_cloud_compute"] == 1.0
    assert F.category_features(ctx)["cat_chip_diversion"] == 0.0
    assert F.network_features(ctx)["shell_intermediary"] == 1.0
    assert F.source_features(ctx)["corroboration"] == 0.0
    assert F.red_flag_features(ctx)["red_flag_count"] == 0.0


def test_odd_fields_from_a_partner_do_not_break_a_batch() -> None:
    odd = _case("chip_diversion", {"route": "US>SG>CN", "items": [{"model": "H100 SXM",
                "quantity": "1,200"}], "declared_end_user": "Orvak", "value_usd": "n/a",
                "unexpected": {"nested": [1, 2]}}, info_credibility="2")  # fmt: skip
    junk = _case("weird_category", {"organisation": 5, "red_flags": "cash"})
    matrix = build_features([odd, junk], None, NOW)
    assert matrix.X.shape == (2, len(DEFAULT_CONFIG.feature_names))
    row = dict(zip(matrix.feature_names, matrix.X[0].tolist(), strict=True))
    assert row["route_hops"] == pytest.approx(1 / 3)
    assert row["h100e_log"] > 0.5
    assert dict(zip(matrix.feature_names, matrix.X[1].tolist(), strict=True))["cat_other"] == 1.0


def test_every_explanation_sums_exactly_and_agrees_with_the_bulk_rounding() -> None:
    rng = np.random.default_rng(3)
    n, f = 300, DEFAULT_CONFIG.n_features
    X = rng.random((n, f))
    X[rng.random((n, f)) < 0.2] = np.nan
    result = score(X, None, DEFAULT_CONFIG, None, explain="all")
    units, score_units, base_units = rounded_points(result)
    for row in range(n):
        e = explain_row(result, row)
        assert explanation_sums(e)
        assert len(e["contributions"]) == f
        assert sum(round(g["points"] * 1000) for g in e["groups"]) == score_units[row] - base_units
        by_feature = {c["feature"]: round(c["points"] * 1000) for c in e["contributions"]}
        assert [by_feature[name] for name in result.feature_names] == units[row].tolist()


def _labelled(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, DEFAULT_CONFIG.n_features)) * (rng.random((n, 1)) < 0.5)
    truth = X[:, DEFAULT_CONFIG.index("declared_vs_destination")] * 4 - 2
    y = (rng.random(n) < 1 / (1 + np.exp(-truth))).astype(float)
    return X, y


def test_fit_moves_weights_with_the_data_and_keeps_red_flags_non_negative() -> None:
    X, y = _labelled(3000, 1)
    fitted = fit_config(X, y, DEFAULT_CONFIG, "fitted")
    j = DEFAULT_CONFIG.index("declared_vs_destination")
    assert fitted.weights[j] > DEFAULT_CONFIG.weights[j] + 1.0
    constrained = [w for n, w in zip(fitted.feature_names, fitted.weights, strict=True)
                   if not n.startswith("cat_")]  # fmt: skip
    assert min(constrained) >= 0.0
    X_test, y_test = _labelled(1000, 2)
    assert (
        evaluate(X_test, y_test, fitted).ndcg50 >= evaluate(X_test, y_test, DEFAULT_CONFIG).ndcg50
    )


def test_a_handful_of_dispositions_moves_the_weights_little() -> None:
    X, y = _labelled(12, 4)
    fitted = fit_config(X, y, DEFAULT_CONFIG, "fitted")
    shift = np.abs(np.asarray(fitted.weights) - np.asarray(DEFAULT_CONFIG.weights)).max()
    assert shift < 0.5
    with pytest.raises(FitError):
        fit_config(X, np.full(12, 2.0), DEFAULT_CONFIG, "bad")


def test_holdout_is_deterministic_and_about_the_share() -> None:
    keys = [f"case-{i}" for i in range(2000)]
    mask = holdout_mask(keys)
    assert mask.tolist() == holdout_mask(list(keys)).tolist()
    assert 0.25 < mask.mean() < 0.35
