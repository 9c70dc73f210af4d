"""Benchmark: score 1,000,000 cases x 37 features, rank and explain the top 1,000, on one core.

Run from the repository root: ``.venv/bin/python tests/bench/scoring_engine.py``.
The bare limit (``X @ w``, sigmoid, ``argpartition`` top-k) is measured in the same run on the
same matrix shape and dtype, so the ratio is machine-independent-ish. Medians of repeats.
Also prints the full-explanation time and the screening-name matching speed (10,000 names
against a 20,000-entry index). The LAST line is the RESULT line.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import platform  # noqa: E402  (stdlib: the source root is not a package)
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))

import numpy as np  # noqa: E402

from riskscore.engine import score  # noqa: E402
from riskscore.features import DEFAULT_CONFIG  # noqa: E402
from riskscore.matching import ScreeningIndex  # noqa: E402

N_CASES = 1_000_000
TOP_K = 1_000
REPEATS = 9
MISSING_SHARE = 0.03


def _median_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    fn()  # warm-up (page faults, BLAS init)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"cpu={cpu!r} logical_cpus={os.cpu_count()} python={platform.python_version()} "
        f"numpy={np.__version__} threads=1"
    )


def _matching_benchmark() -> tuple[float, float]:
    """(build seconds, match seconds) for 10,000 query names vs a 20,000-entry index."""
    rng = random.Random(7)
    onsets = [
        "b",
        "d",
        "f",
        "g",
        "h",
        "k",
        "l",
        "m",
        "n",
        "p",
        "r",
        "s",
        "t",
        "v",
        "z",
        "br",
        "dr",
        "kr",
        "st",
        "tr",
        "sh",
        "ch",
        "zh",
        "x",
        "q",
    ]
    vowels = ["a", "e", "i", "o", "u", "ai", "ao", "ei", "ia", "ou"]
    codas = ["", "", "n", "ng", "r", "l", "k", "x", "s"]
    forms = ["Trading Ltd", "Co., Ltd.", "LLC", "Pte Ltd", "Sdn Bhd", "FZE", "GmbH", "JSC", ""]

    def word() -> str:
        return "".join(
            rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
            for _ in range(rng.randint(2, 3))
        ).capitalize()

    def name() -> str:
        return " ".join(word() for _ in range(rng.randint(1, 3))) + " " + rng.choice(forms)

    entries = [
        {
            "id": f"e{i}",
            "name": name(),
            "alt_names": [name() for _ in range(rng.choice((0, 0, 1, 2)))],
            "addresses": [{"address": f"{rng.randint(1, 300)} {word()} Road", "country": "HK"}],
        }
        for i in range(20_000)
    ]
    queries = []
    for i in range(10_000):
        if i % 2:
            queries.append(name())
        else:
            tokens = str(entries[rng.randrange(20_000)]["name"]).split()
            rng.shuffle(tokens)
            queries.append(" ".join(tokens).replace("a", "\u0430"))  # Cyrillic a: homoglyph noise
    start = time.perf_counter()
    index = ScreeningIndex.build(entries)
    build = time.perf_counter() - start
    match = _median_seconds(lambda: index.match_names(queries), repeats=5)
    return build, match


def main() -> None:
    config = DEFAULT_CONFIG
    n_features = config.n_features
    rng = np.random.default_rng(2026)
    X = rng.random((N_CASES, n_features), dtype=np.float32)
    X[rng.random((N_CASES, n_features)) < MISSING_SHARE] = np.nan
    X_clean = np.nan_to_num(X, nan=0.0)
    w = config.weight_vector(np.float32)
    bias = np.float32(config.bias)

    def bare_limit() -> np.ndarray:
        z = X_clean @ w
        z += bias
        p = 1.0 / (1.0 + np.exp(-z))
        return np.argpartition(p, N_CASES - TOP_K)[N_CASES - TOP_K :]

    def engine_top() -> object:
        return score(X, None, config, TOP_K)

    def engine_clean() -> object:
        return score(X_clean, None, config, TOP_K)

    limit = _median_seconds(bare_limit)
    ours = _median_seconds(engine_top)
    ours_clean = _median_seconds(engine_clean)
    result = score(X, None, config, TOP_K)
    gap = np.abs(result.contributions.sum(axis=1) + result.baseline - result.scores[result.order])
    start = time.perf_counter()
    score(X, None, config, TOP_K, explain="all")
    full = time.perf_counter() - start
    build, match = _matching_benchmark()

    print(_machine())
    print(
        f"engine: n={N_CASES} features={n_features} dtype=float32 missing={MISSING_SHARE:.0%} "
        f"top_k={TOP_K} repeats={REPEATS}"
    )
    print(f"engine (3% NaN, imputed) median seconds: {ours:.4f}")
    print(f"engine (no missing values) median seconds: {ours_clean:.4f}")
    print(f"bare limit (X@w + sigmoid + argpartition) median seconds: {limit:.4f}")
    print(
        f"explanations of the top {TOP_K}: max |baseline + sum(points) - score| = {gap.max():.2e}"
    )
    print(f"full explanations (all {N_CASES} rows, explain='all'): {full:.3f} s")
    print(
        f"matching: 10000 names vs 20000 entries (+aliases): build {build:.3f} s, "
        f"match {match:.3f} s (median of 5)"
    )
    print(
        f"RESULT scoring_engine cases={N_CASES} seconds={ours:.4f} "
        f"limit_seconds={limit:.4f} ratio={ours / limit:.2f}"
    )


if __name__ == "__main__":
    main()
