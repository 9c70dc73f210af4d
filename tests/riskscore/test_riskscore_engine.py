"""The engine: exact explanations, missing-value imputation, ranking, config validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskscore.engine import ConfigError, ScoringConfig, score


def _config(
    weights: list[float], neutral: list[float] | None = None, bias: float = -2.0
) -> ScoringConfig:
    n = len(weights)
    return ScoringConfig(
        version="test-1",
        feature_names=tuple(f"f{i}" for i in range(n)),
        weights=tuple(weights),
        bias=bias,
        neutral=tuple(neutral if neutral is not None else [0.25] * n),
        half_life_days=90.0,
    )


def _sigmoid100(z: np.ndarray) -> np.ndarray:
    return 100.0 / (1.0 + np.exp(-z))


def test_scores_are_a_logistic_of_the_linear_term_with_neutral_imputation() -> None:
    rng = np.random.default_rng(1)
    config = _config(list(rng.normal(size=6)), list(rng.random(6)))
    X = rng.random((50, 6))
    X[rng.random((50, 6)) < 0.2] = np.nan
    imputed = np.where(np.isnan(X), np.asarray(config.neutral), X)
    expected = _sigmoid100(config.bias + imputed @ np.asarray(config.weights))
    result = score(X, None, config, None, explain="none")
    np.testing.assert_allclose(result.scores, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("explain", ["top", "all"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contributions_add_up_to_the_score(explain: str, dtype: type) -> None:
    rng = np.random.default_rng(2)
    config = _config(list(rng.normal(scale=2.0, size=8)))
    X: np.ndarray = rng.random((5000, 8)).astype(dtype)
    X[rng.random((5000, 8)) < 0.1] = np.nan
    result = score(X, None, config, 100, explain=explain)  # type: ignore[arg-type]
    rows = result.explained
    total = result.baseline + result.contributions.astype(np.float64).sum(axis=1)
    tolerance = 1e-9 if explain == "top" or dtype == np.float64 else 1e-3
    np.testing.assert_allclose(total, result.scores[rows], atol=tolerance)
    assert rows.shape[0] == (100 if explain == "top" else 5000)


def test_points_keep_the_sign_of_their_log_odds_and_cancel_exactly() -> None:
    config = _config([2.0, -2.0, 1.0], [0.0, 0.0, 0.0], bias=-1.0)
    X = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    result = score(X, None, config, None, explain="all")
    cancel = result.explained.tolist().index(0)
    assert result.scores[0] == pytest.approx(result.baseline)
    assert result.contributions[cancel, 0] > 0 > result.contributions[cancel, 1]
    assert result.contributions[cancel].sum() == pytest.approx(0.0, abs=1e-12)
    risky = result.explained.tolist().index(1)
    assert result.contributions[risky, 0] == pytest.approx(result.scores[1] - result.baseline)


def test_missing_values_get_the_neutral_prior_and_are_flagged() -> None:
    config = _config([1.5, 1.0], [0.4, 0.2], bias=-3.0)
    X = np.array([[np.nan, np.nan], [0.0, 0.0]])
    result = score(X, None, config, None)
    explanation = result.explain(0)
    assert all(c.missing for c in explanation.contributions)
    assert {c.feature: c.value for c in explanation.contributions} == {"f0": 0.4, "f1": 0.2}
    # missing is not "zero risk": it scores above a case whose features are known to be 0
    assert result.scores[0] > result.scores[1] == pytest.approx(result.baseline)
    assert result.scores[0] == pytest.approx(_sigmoid100(np.array(-3.0 + 0.6 + 0.2))[()])


def test_missing_mask_overrides_a_recorded_value() -> None:
    config = _config([1.0, 1.0], [0.5, 0.5])
    X = np.array([[9.0, 0.0]])
    mask = np.array([[True, False]])
    result = score(X, mask, config, None)
    assert result.scores[0] == pytest.approx(_sigmoid100(np.array(-2.0 + 0.5))[()])
    first = {c.feature: c for c in result.explain(0).contributions}
    assert first["f0"].missing
    assert first["f0"].value == 0.5
    assert not first["f1"].missing


def test_top_k_is_sorted_with_deterministic_ties() -> None:
    config = _config([1.0])
    X = np.array([[0.5], [0.9], [0.5], [0.5], [0.1], [0.9]])
    result = score(X, None, config, 4)
    assert result.order.tolist() == [1, 5, 0, 2]
    assert result.rank_array().tolist() == [3, 1, 4, 0, 0, 2]
    everything = score(X, None, config, None)
    assert everything.order.tolist() == [1, 5, 0, 2, 3, 4]


def test_top_k_boundary_ties_take_the_lowest_rows_on_a_large_input() -> None:
    config = _config([1.0])
    X = np.zeros((100_000, 1), dtype=np.float32)
    result = score(X, None, config, 10)
    assert result.order.tolist() == list(range(10))


def test_float32_and_float64_rank_alike() -> None:
    rng = np.random.default_rng(3)
    config = _config(list(rng.random(12)))
    X = rng.random((20_000, 12))
    r32 = score(X.astype(np.float32), None, config, 200)
    r64 = score(X, None, config, 200)
    assert set(r32.order.tolist()) == set(r64.order.tolist())
    np.testing.assert_allclose(r32.scores, r64.scores, atol=1e-4)


def test_explanation_lists_largest_contributions_first() -> None:
    config = _config([0.5, 3.0, 1.0], [0.0, 0.0, 0.0])
    result = score(np.array([[1.0, 1.0, 1.0]]), None, config, None)
    assert [c.feature for c in result.explain(0).contributions] == ["f1", "f2", "f0"]
    assert len(result.explain(0, top=2).contributions) == 2
    with pytest.raises(KeyError):
        score(np.array([[1.0, 1.0, 1.0]]), None, config, None, explain="none").explain(0)


def test_infinite_values_are_refused_with_the_row() -> None:
    config = _config([1.0, 1.0])
    X = np.zeros((10, 2))
    X[7, 1] = np.inf
    with pytest.raises(ValueError, match="row 7"):
        score(X, None, config, 3)
    with pytest.raises(ValueError, match="row 7"):
        score(X, None, config, 3, explain="all")


def test_shape_errors_name_the_problem() -> None:
    config = _config([1.0, 1.0])
    with pytest.raises(ValueError, match="feature columns"):
        score(np.zeros((3, 3)), None, config, 1)
    with pytest.raises(ValueError, match="shape"):
        score(np.zeros((3, 2)), np.zeros((2, 2), dtype=bool), config, 1)


def test_config_round_trips_through_a_json_dict() -> None:
    config = _config([1.0, -0.5], [0.1, 0.2])
    data = config.to_dict()
    assert ScoringConfig.from_dict(data) == config
    assert data["features"][1] == {"name": "f1", "weight": -0.5, "neutral": 0.2}
    assert math.isclose(config.baseline, 100.0 / (1.0 + math.exp(2.0)))
    as_lists = ScoringConfig("test-1", ["f0", "f1"], [1.0, -0.5], -2.0, [0.1, 0.2], 90.0)  # type: ignore[arg-type]
    assert as_lists == config  # lists are stored as tuples: configs stay hashable and equal


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["features"][1].update(name="f0"), r"features\[1\]\.name: duplicate"),
        (lambda d: d["features"][0].update(weight=float("nan")), r"features\[0\]\.weight"),
        (lambda d: d["features"][0].update(weight="1.0"), r"features\[0\]\.weight"),
        (lambda d: d["features"][1].pop("neutral"), r"features\[1\]\.neutral: required"),
        (lambda d: d.update(half_life_days=0), "half_life_days: must be positive"),
        (lambda d: d.update(colour="red"), "colour: unknown"),
        (lambda d: d.pop("bias"), "bias: required"),
        (lambda d: d.update(features=[]), "at least one feature"),
    ],
)
def test_invalid_configs_are_refused_naming_the_field(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = _config([1.0, 1.0]).to_dict()
    mutate(data)
    with pytest.raises(ConfigError, match=message):
        ScoringConfig.from_dict(data)


def test_empty_inputs_and_zero_top_k() -> None:
    config = _config([1.0, 2.0])
    assert score(np.zeros((0, 2)), None, config, 5).order.tolist() == []
    result = score(np.ones((4, 2)), None, config, 0)
    assert result.order.tolist() == []
    assert result.scores.shape == (4,)
    assert result.contributions.shape == (0, 2)
