"""Ranking metrics and naive baselines, so the score's quality is measured, not asserted.

All metrics rank by score descending and break ties deterministically by the lower index first
(the input order), so a baseline with many tied scores cannot be flattered or punished by luck.
Relevance is binary (1 relevant, 0 not).

* precision@k = relevant items in the top k / k.
* NDCG@k = DCG@k / IDCG@k with gain rel_i and discount 1 / log2(rank + 1) (Jarvelin and
  Kekalainen 2002; the definition of ``sklearn.metrics.ndcg_score`` for binary relevance);
  0.0 when nothing is relevant.
* average precision = mean over relevant items of the precision at their rank (step-wise AUPRC,
  as ``sklearn.metrics.average_precision_score`` when there are no ties); 0.0 when nothing is
  relevant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "average_precision",
    "ndcg_at_k",
    "precision_at_k",
    "rank_order",
    "red_flag_count_baseline",
    "screening_hit_baseline",
]


def rank_order(scores: ArrayLike) -> NDArray[np.intp]:
    """Indices by score descending; ties: lower index first."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError("scores must be 1-D")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return np.lexsort((np.arange(s.shape[0]), -s)).astype(np.intp)


def _ranked_labels(scores: ArrayLike, labels: ArrayLike) -> NDArray[np.float64]:
    y = np.asarray(labels, dtype=np.float64)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"scores {s.shape} and labels {y.shape} differ in shape")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    return y[rank_order(s)]


def precision_at_k(scores: ArrayLike, labels: ArrayLike, k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    ranked = _ranked_labels(scores, labels)
    return float(ranked[:k].sum() / k)


def ndcg_at_k(scores: ArrayLike, labels: ArrayLike, k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    ranked = _ranked_labels(scores, labels)
    discounts = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    top = ranked[:k]
    dcg = float((top * discounts[: top.shape[0]]).sum())
    n_rel = int(min(k, ranked.sum()))
    idcg = float(discounts[:n_rel].sum())
    return dcg / idcg if idcg > 0 else 0.0


def average_precision(scores: ArrayLike, labels: ArrayLike) -> float:
    ranked = _ranked_labels(scores, labels)
    n_rel = ranked.sum()
    if n_rel == 0:
        return 0.0
    hits = np.cumsum(ranked)
    precision = hits / np.arange(1, ranked.shape[0] + 1)
    return float((precision * ranked).sum() / n_rel)


def screening_hit_baseline(best_cosine: ArrayLike, threshold: float = 0.9) -> NDArray[np.float64]:
    """Baseline (a): 1 if any party hits the screening list at ``threshold``, else 0."""
    return (np.asarray(best_cosine, dtype=np.float64) >= threshold).astype(np.float64)


def red_flag_count_baseline(cases: Sequence[Sequence[Mapping[str, Any]]]) -> NDArray[np.float64]:
    """Baseline (b): distinct red flags asserted by any non-withdrawn report of the case."""
    out = np.zeros(len(cases), dtype=np.float64)
    for i, case in enumerate(cases):
        flags: set[str] = set()
        for report in case:
            if report.get("status") == "withdrawn":
                continue
            details = report.get("details")
            if isinstance(details, Mapping):
                flags.update(str(f) for f in details.get("red_flags") or ())
        out[i] = len(flags)
    return out
