"""Benchmark: ranking quality of the risk score on a world it was not built from.

Run from the repository root: ``.venv/bin/python tests/bench/scoring_quality.py``.

The world is ``quality_world.py``, written from ``scoring_quality_spec.md`` (nuisance signals,
diverters imitating legitimate hub buyers, quiet diverters, legitimate buyers with flags, name
collisions, fields withheld in both classes, label noise, every category). Cases are given with
their true grouping (an adjudicated case file). For each evaluation seed it reports, in the same
run: the hand-set model; its equal-weights ablation (every weight 1); a shuffled-weights
ablation (the hand-set weights permuted across features, mean of three shuffles); baseline (a)
screening hit computed here, independently of the scorer's own feature (exact equality of
case-folded, punctuation-free names without legal forms); baseline (b) the count of distinct red
flags; and the logistic regression fitted (``riskscore.fit``) on seeds 101-103 only, never on an
evaluation seed. Synthetic figures are not operational false-positive rates. The LAST line is the
RESULT line.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

import numpy as np  # noqa: E402

from riskscore import metrics  # noqa: E402
from riskscore.engine import ScoringConfig, score  # noqa: E402
from riskscore.features import DEFAULT_CONFIG, build_features  # noqa: E402
from riskscore.fit import fit_config  # noqa: E402
from riskscore.matching import ScreeningIndex  # noqa: E402
from tests.bench import quality_world  # noqa: E402

EVAL_SEEDS = (1, 2, 3, 4, 5)
FIT_SEEDS = (101, 102, 103)
K = 50
_LEGAL = {"co", "ltd", "pte", "sdn", "bhd", "llc", "fze", "limited", "gmbh", "jsc", "inc"}


def _plain(name: str) -> str:
    words = re.sub(r"[^a-z0-9 ]+", " ", name.casefold()).split()
    return " ".join(w for w in words if w not in _LEGAL)


def screening_hit(world: quality_world.World) -> np.ndarray:
    listed = {_plain(n) for e in world.screening for n in (e["name"], *e["alt_names"])}
    out = np.zeros(len(world.cases))
    for i, case in enumerate(world.cases):
        for report in case:
            for value in report["details"].values():
                if isinstance(value, dict) and _plain(str(value.get("name", ""))) in listed:
                    out[i] = 1.0
    return out


def _features(world: quality_world.World) -> tuple[np.ndarray, np.ndarray]:
    index = ScreeningIndex.build(world.screening)
    matrix = build_features(world.cases, index, quality_world.NOW, DEFAULT_CONFIG)
    return matrix.X, np.asarray(world.labels, dtype=np.float64)


def _with_weights(weights: np.ndarray, version: str) -> ScoringConfig:
    data = DEFAULT_CONFIG.to_dict()
    data["version"] = version
    for item, w in zip(data["features"], weights.tolist(), strict=True):
        item["weight"] = w
    return ScoringConfig.from_dict(data)


def _quality(X: np.ndarray, y: np.ndarray, config: ScoringConfig) -> tuple[float, float]:
    s = score(X, None, config, None, explain="none").scores
    return metrics.ndcg_at_k(s, y, K), metrics.average_precision(s, y)


def _resolution(X: np.ndarray, config: ScoringConfig) -> float:
    """Share of the top 100 scores within half a point of the next one (ties in the queue)."""
    s = np.sort(score(X, None, config, None, explain="none").scores)[::-1][:100]
    return float((np.abs(np.diff(s)) < 0.5).mean())


def main() -> None:
    started = time.perf_counter()
    fit_X, fit_y = [], []
    for seed in FIT_SEEDS:
        X, y = _features(quality_world.generate(seed))
        fit_X.append(X)
        fit_y.append(y)
    fitted = fit_config(np.vstack(fit_X), np.concatenate(fit_y), DEFAULT_CONFIG, "bench-fitted")
    print(f"fitted on seeds {FIT_SEEDS}: {int(np.concatenate(fit_y).sum())} confirmed of "
          f"{sum(len(y) for y in fit_y)} ({time.perf_counter() - started:.1f} s)")  # fmt: skip
    rows: dict[str, list[float]] = {}
    weights = DEFAULT_CONFIG.weight_vector(np.float64)
    equal = _with_weights(np.ones_like(weights), "equal")
    for seed in EVAL_SEEDS:
        t0 = time.perf_counter()
        world = quality_world.generate(seed)
        X, y = _features(world)
        figures = {}
        figures["model"], figures["model_ap"] = _quality(X, y, DEFAULT_CONFIG)
        figures["equal"], _ = _quality(X, y, equal)
        rng = np.random.default_rng(seed)
        figures["shuffled"] = statistics.fmean(
            _quality(X, y, _with_weights(rng.permutation(weights), "shuffled"))[0] for _ in range(3)
        )
        figures["fitted"], figures["fitted_ap"] = _quality(X, y, fitted)
        hit, flags = screening_hit(world), metrics.red_flag_count_baseline(world.cases)
        figures["hit"] = metrics.ndcg_at_k(hit, y, K)
        figures["flags"] = metrics.ndcg_at_k(flags, y, K)
        figures["ties_top100"] = _resolution(X, DEFAULT_CONFIG)
        for key, value in figures.items():
            rows.setdefault(key, []).append(value)
        print(
            f"seed {seed}: {len(y)} cases, {int(y.sum())} confirmed; ndcg@50 model "
            f"{figures['model']:.3f} (AP {figures['model_ap']:.3f}), equal weights "
            f"{figures['equal']:.3f}, shuffled {figures['shuffled']:.3f}, fitted "
            f"{figures['fitted']:.3f}, baselines: screening hit {figures['hit']:.3f}, red-flag "
            f"count {figures['flags']:.3f}; top-100 within 0.5 pt {figures['ties_top100']:.0%} "
            f"({time.perf_counter() - t0:.1f} s)"
        )
    mean = {k: statistics.fmean(v) for k, v in rows.items()}
    baseline = max(mean["hit"], mean["flags"])
    print(
        f"mean: model {mean['model']:.3f}, equal weights {mean['equal']:.3f} (margin "
        f"{mean['model'] - mean['equal']:+.3f}), shuffled {mean['shuffled']:.3f}, better baseline "
        f"{baseline:.3f} (margin {mean['model'] - baseline:+.3f}), fitted {mean['fitted']:.3f}"
    )
    print(
        f"RESULT scoring_quality ndcg50={mean['model']:.3f} "
        f"equal_weights_ndcg50={mean['equal']:.3f} shuffled_ndcg50={mean['shuffled']:.3f} "
        f"baseline_ndcg50={baseline:.3f} fitted_ndcg50={mean['fitted']:.3f} "
        f"average_precision={mean['model_ap']:.3f} seeds={','.join(map(str, EVAL_SEEDS))}"
    )


if __name__ == "__main__":
    main()
