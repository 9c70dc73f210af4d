"""Weights learned from analysts' dispositions: L2-regularised logistic regression in numpy.

The penalty pulls toward the *hand-set* configuration, not toward zero:

    loss(w, b) = sum_i logloss(y_i, b + x_i . w) + lam/2 |w - w0|^2 + lam_b/2 (b - b0)^2

so a handful of dispositions moves the weights little and many move them as far as the data
says. Red-flag style features keep non-negative weights (projected Newton steps), so more
evidence never lowers a score; the per-category intercepts (``cat_*``) may take any sign. The
fitted model has the same additive form as the hand-set one, so explanations keep their shape.

:func:`evaluate` compares configurations on dispositions held back from fitting: NDCG@50,
average precision, Brier score and a calibration table (predicted against observed rate).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from riskscore.engine import ScoringConfig, score
from riskscore.metrics import average_precision, ndcg_at_k

__all__ = [
    "MIN_DISPOSITIONS",
    "MIN_PER_CLASS",
    "Evaluation",
    "FitError",
    "evaluate",
    "fit_config",
    "holdout_mask",
]

MIN_DISPOSITIONS = 40  # fewer closed cases than this: nothing is proposed
MIN_PER_CLASS = 8  # confirmed and dismissed each, so the held-back part has both
UNCONSTRAINED_PREFIX = "cat_"


class FitError(ValueError):
    """Too few or unusable dispositions; the message says what is missing."""


def _imputed(X: NDArray[np.float64], config: ScoringConfig) -> NDArray[np.float64]:
    values = np.array(X, dtype=np.float64, copy=True)
    mask = np.isnan(values)
    if mask.any():
        values[mask] = np.broadcast_to(config.neutral_vector(np.float64), values.shape)[mask]
    return values


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _objective(
    A: NDArray[np.float64], y: NDArray[np.float64], theta: NDArray[np.float64],
    prior: NDArray[np.float64], penalty: NDArray[np.float64],
) -> float:  # fmt: skip
    z = A @ theta
    loss = np.logaddexp(0.0, z) - y * z
    return float(loss.sum() + 0.5 * (penalty * (theta - prior) ** 2).sum())


def fit_config(
    X: NDArray[np.float64],
    y: Sequence[int] | NDArray[Any],
    prior: ScoringConfig,
    version: str,
    l2: float = 8.0,
    max_iter: int = 50,
) -> ScoringConfig:
    """A new configuration fitted to (X, y) with ``prior``'s weights as the prior."""
    labels = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != labels.shape[0] or X.shape[1] != prior.n_features:
        raise FitError(f"X {X.shape} does not fit {labels.shape[0]} labels and the config")
    if not np.isin(labels, (0.0, 1.0)).all():
        raise FitError("labels must be 0 (dismissed) or 1 (confirmed)")
    n, f = X.shape
    A = np.hstack([_imputed(X, prior), np.ones((n, 1))])
    theta0 = np.append(prior.weight_vector(np.float64), prior.bias)
    penalty = np.full(f + 1, l2)
    penalty[-1] = l2 / 8.0  # the intercept follows the base rate more freely
    free = np.array(
        [name.startswith(UNCONSTRAINED_PREFIX) for name in prior.feature_names] + [True]
    )
    theta = theta0.copy()
    current = _objective(A, labels, theta, theta0, penalty)
    for _ in range(max_iter):
        p = _sigmoid(A @ theta)
        grad = A.T @ (p - labels) + penalty * (theta - theta0)
        hess = (A * (p * (1.0 - p))[:, None]).T @ A + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-4:  # backtracking on the projected step
            candidate = theta - t * step
            candidate = np.where(free, candidate, np.maximum(candidate, 0.0))
            value = _objective(A, labels, candidate, theta0, penalty)
            if value <= current:
                break
            t /= 2.0
        if t <= 1e-4:
            break
        improvement = current - value
        theta, current = candidate, value
        if improvement < 1e-8 * max(1.0, abs(current)):
            break
    return ScoringConfig(
        version=version,
        feature_names=prior.feature_names,
        weights=tuple(float(w) for w in theta[:-1]),
        bias=float(theta[-1]),
        neutral=prior.neutral,
        half_life_days=prior.half_life_days,
        descriptions=prior.descriptions,
    )


def holdout_mask(keys: Sequence[str], share: float = 0.3) -> NDArray[np.bool_]:
    """Deterministic held-back part: a key is held back when its hash falls below ``share``
    (stable across runs and machines, independent of the order of the rows)."""
    out = np.zeros(len(keys), dtype=np.bool_)
    for i, key in enumerate(keys):
        digest = hashlib.sha256(str(key).encode()).digest()
        out[i] = int.from_bytes(digest[:8], "big") / 2**64 < share
    return out


@dataclass(frozen=True)
class Evaluation:
    cases: int
    confirmed: int
    ndcg50: float
    average_precision: float
    brier: float
    calibration: tuple[tuple[float, float, int], ...]  # (mean predicted, observed, cases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "confirmed": self.confirmed,
            "ndcg50": round(self.ndcg50, 4),
            "average_precision": round(self.average_precision, 4),
            "brier": round(self.brier, 4),
            "calibration": [
                {"predicted": round(p, 4), "observed": round(o, 4), "cases": c}
                for p, o, c in self.calibration
            ],
        }


def evaluate(
    X: NDArray[np.float64], y: Sequence[int] | NDArray[Any], config: ScoringConfig, bins: int = 5
) -> Evaluation:
    labels = np.asarray(y, dtype=np.float64)
    result = score(X, None, config, top_k=None, explain="none")
    p = result.scores / 100.0
    order = np.argsort(p, kind="stable")
    table = []
    for part in np.array_split(order, min(bins, max(1, labels.shape[0]))):
        if part.size:
            table.append((float(p[part].mean()), float(labels[part].mean()), int(part.size)))
    return Evaluation(
        cases=int(labels.shape[0]),
        confirmed=int(labels.sum()),
        ndcg50=ndcg_at_k(result.scores, labels, 50),
        average_precision=average_precision(result.scores, labels),
        brier=float(((p - labels) ** 2).mean()) if labels.size else 0.0,
        calibration=tuple(table),
    )
