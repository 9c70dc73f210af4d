"""Ranking metrics on hand-computed examples, tie handling and the two baselines."""

from __future__ import annotations

import math
from typing import Any

import pytest

from riskscore.metrics import (
    average_precision,
    ndcg_at_k,
    precision_at_k,
    rank_order,
    red_flag_count_baseline,
    screening_hit_baseline,
)

SCORES = [0.9, 0.8, 0.7, 0.6, 0.5]
LABELS = [1, 0, 1, 0, 1]


def test_precision_at_k_by_hand() -> None:
    assert precision_at_k(SCORES, LABELS, 1) == 1.0
    assert precision_at_k(SCORES, LABELS, 2) == 0.5
    assert precision_at_k(SCORES, LABELS, 5) == pytest.approx(3 / 5)
    assert precision_at_k(SCORES, LABELS, 10) == pytest.approx(3 / 10)  # k beyond n


def test_ndcg_at_k_by_hand() -> None:
    dcg = 1 + 1 / math.log2(4)  # relevant at ranks 1 and 3
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(SCORES, LABELS, 3) == pytest.approx(dcg / idcg)
    assert ndcg_at_k([3, 2, 1], [1, 1, 0], 2) == pytest.approx(1.0)
    assert ndcg_at_k([1, 2, 3], [1, 0, 0], 3) == pytest.approx(0.5)  # 1/log2(4) / 1
    assert ndcg_at_k([1, 2], [0, 0], 2) == 0.0


def test_average_precision_by_hand() -> None:
    assert average_precision(SCORES, LABELS) == pytest.approx((1 / 1 + 2 / 3 + 3 / 5) / 3)
    assert average_precision([0.1, 0.2], [0, 0]) == 0.0


def test_ties_are_broken_by_input_order() -> None:
    assert rank_order([1.0, 2.0, 1.0, 2.0]).tolist() == [1, 3, 0, 2]
    assert precision_at_k([1.0, 1.0], [0, 1], 1) == 0.0
    assert precision_at_k([1.0, 1.0], [1, 0], 1) == 1.0


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        ndcg_at_k([1.0, 2.0], [1], 1)
    with pytest.raises(ValueError, match="0 or 1"):
        precision_at_k([1.0], [2], 1)
    with pytest.raises(ValueError, match="NaN"):
        average_precision([float("nan")], [1])
    with pytest.raises(ValueError, match="positive"):
        precision_at_k([1.0], [1], 0)


def test_baselines() -> None:
    assert screening_hit_baseline([0.95, 0.89, 0.9]).tolist() == [1.0, 0.0, 1.0]
    cases: list[list[dict[str, Any]]] = [
        [
            {"details": {"red_flags": ["cash_payment", "new_company"]}},
            {"details": {"red_flags": ["cash_payment"]}},
        ],
        [{"status": "withdrawn", "details": {"red_flags": ["cash_payment"]}}],
        [{"details": {}}],
    ]
    assert red_flag_count_baseline(cases).tolist() == [2.0, 0.0, 0.0]
