"""Explanations of scores: every feature's contribution, with its group, summing exactly.

A pure function over the engine's output. Points are rounded to ``DECIMALS`` places by
largest-remainder apportionment in integer units, so that ``baseline + sum(points) == score``
holds *exactly* for the rounded numbers every output shows (API, case page, offline file), not
only to float noise. Zero contributions are kept (the case page folds them away per group) so a
reader can see that a feature was considered and said nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from riskscore.engine import ScoreResult
from riskscore.featurespec import FEATURES, GROUP_LABELS

__all__ = [
    "DECIMALS",
    "apportion",
    "explain_row",
    "explanation_sums",
    "group_contributions",
    "group_of",
    "rounded_points",
]

DECIMALS = 3
_UNIT = 10**DECIMALS
_GROUPS = {spec.name: spec.group for spec in FEATURES}


def group_of(feature: str) -> str:
    return _GROUPS.get(feature, "other")


def apportion(values: Sequence[float], total: int) -> list[int]:
    """Integers near ``values`` (already in units) that add up to ``total``: floors, then the
    units left over go to the largest remainders (ties: the first feature)."""
    floors = [math.floor(v) for v in values]
    left = total - sum(floors)
    remainders = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    if left < 0:
        remainders.reverse()
    result = list(floors)
    if not values:
        return result
    step = 1 if left >= 0 else -1
    for n in range(abs(left)):
        result[remainders[n % len(remainders)]] += step
    return result


def _units(value: float) -> int:
    return round(float(value) * _UNIT)


def explain_row(result: ScoreResult, row: int) -> dict[str, Any]:
    """One case's explanation: score, baseline, and every contribution grouped.

    ``{"score", "baseline", "config_version", "contributions": [{feature, group, points,
    value, missing, logit}], "groups": [{group, label, points, features}]}``; contributions
    are largest |points| first; the rounded points sum exactly to score - baseline.
    """
    i = result.explanation_index(row)
    points = result.contributions[i].astype(np.float64)
    score_units = _units(result.scores[row])
    base_units = _units(result.baseline)
    shown = apportion([float(p) * _UNIT for p in points], score_units - base_units)
    order = sorted(range(points.shape[0]), key=lambda j: (-abs(shown[j]), -abs(points[j]), j))
    contributions = []
    for j in order:
        missing = bool(result.missing[i, j])
        value = float(result.values[i, j])
        contributions.append(
            {
                "feature": result.feature_names[j],
                "group": group_of(result.feature_names[j]),
                "points": shown[j] / _UNIT,
                "value": None if missing else round(value, 6),
                "imputed_value": round(value, 6) if missing else None,
                "missing": missing,
                "logit": round(float(result.logit_contributions[i, j]), 6),
            }
        )
    return {
        "score": score_units / _UNIT,
        "baseline": base_units / _UNIT,
        "config_version": result.config_version,
        "contributions": contributions,
        "groups": group_contributions(contributions),
    }


def group_contributions(contributions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Contributions per group (in ``GROUP_LABELS`` order), each with its exact sum."""
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for item in contributions:
        by_group.setdefault(str(item.get("group") or group_of(str(item["feature"]))), []).append(
            item
        )
    ordered = [g for g in GROUP_LABELS if g in by_group] + sorted(
        g for g in by_group if g not in GROUP_LABELS
    )
    return [
        {
            "group": g,
            "label": GROUP_LABELS.get(g, g.replace("_", " ").capitalize()),
            "points": sum(_units(item["points"]) for item in by_group[g]) / _UNIT,
            "features": [dict(item) for item in by_group[g]],
        }
        for g in ordered
    ]


def explanation_sums(explanation: Mapping[str, Any]) -> bool:
    """True when baseline + the contributions equal the score exactly (in shown units)."""
    total = _units(explanation["baseline"]) + sum(
        _units(c["points"]) for c in explanation["contributions"]
    )
    return total == _units(explanation["score"])


def rounded_points(result: ScoreResult) -> tuple[np.ndarray, np.ndarray, int]:
    """Vectorised :func:`apportion` for every explained row: (points in units (m, f) int64,
    score in units (m,), baseline in units). Row sums equal score - baseline exactly."""
    raw = result.contributions.astype(np.float64) * _UNIT
    floors = np.floor(raw)
    remainder = raw - floors
    rows = result.explained
    score_units = np.rint(result.scores[rows] * _UNIT).astype(np.int64)
    base_units = _units(result.baseline)
    left = score_units - base_units - floors.sum(axis=1).astype(np.int64)
    m, f = raw.shape
    if f == 0:
        return floors.astype(np.int64), score_units, base_units
    # rank of each feature by remainder, largest first (ties: lower column), as in apportion
    order = np.lexsort((np.broadcast_to(np.arange(f), (m, f)), -remainder), axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(f)[None, :].repeat(m, axis=0), axis=1)
    laps, extra = np.divmod(np.abs(left), f)
    pos = left >= 0
    add = laps[:, None] + (rank < extra[:, None])
    sub = laps[:, None] + ((f - 1 - rank) < extra[:, None])
    units = floors.astype(np.int64) + np.where(pos[:, None], add, -sub)
    return units, score_units, base_units
