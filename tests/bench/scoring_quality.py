"""Benchmark: ranking quality of DEFAULT_CONFIG on the seeded synthetic benchmark.

Run from the repository root: ``.venv/bin/python tests/bench/scoring_quality.py``.
For each seed: generate a world (``riskscore.synthetic``), group its reports into cases, build
features against the world's synthetic screening list, score with the hand-set DEFAULT_CONFIG
(never fitted on these labels) and compare with two naive baselines: (a) screening-list hit
only, (b) count of distinct red flags. A grouped case is relevant if any of its reports belongs
to a diversion case (noisy labels, as an analyst's adjudication would be). Synthetic precision
is not an operational false-positive rate. The LAST line is the RESULT line.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "platform"))

import numpy as np  # noqa: E402

from riskscore import domain, metrics, synthetic  # noqa: E402
from riskscore.engine import score  # noqa: E402
from riskscore.features import DEFAULT_CONFIG, build_features  # noqa: E402
from riskscore.grouping import group_reports, reports_by_case  # noqa: E402
from riskscore.matching import ScreeningIndex  # noqa: E402

SEEDS = (1, 2, 3, 4, 5)
N_CASES = 3_000
K = 50


def _evaluate(seed: int) -> dict[str, float]:
    start = time.perf_counter()
    world = synthetic.generate_world(seed, N_CASES)
    index = ScreeningIndex.build(world.screening_entries)
    grouping = group_reports(world.reports)
    cases = reports_by_case(grouping, world.reports)
    labels = np.array([max(world.labels[r] for r in c.report_ids) for c in grouping.cases])
    matrix = build_features(cases, index, synthetic.REFERENCE_TIME, DEFAULT_CONFIG)
    scores = score(matrix.X, matrix.missing, DEFAULT_CONFIG, None, explain="none").scores

    best_cosine = 0.6 + 0.4 * np.nan_to_num(matrix.column("screening_match"))
    baselines = {
        "screening_hit": metrics.screening_hit_baseline(best_cosine, 0.9),
        "red_flag_count": metrics.red_flag_count_baseline(cases),
    }
    gen_case = [world.case_of_report[c.report_ids[0]] for c in grouping.cases]
    mixed = sum(
        1 for c in grouping.cases if len({world.case_of_report[r] for r in c.report_ids}) > 1
    )
    out = {
        "cases": float(len(grouping.cases)),
        "generator_cases": float(N_CASES),
        "mixed_cases": float(mixed),
        "relevant": float(labels.sum()),
        "ndcg": metrics.ndcg_at_k(scores, labels, K),
        "precision": metrics.precision_at_k(scores, labels, K),
        "ap": metrics.average_precision(scores, labels),
        "seconds": time.perf_counter() - start,
    }
    for name, base in baselines.items():
        out[f"{name}_ndcg"] = metrics.ndcg_at_k(base, labels, K)
        out[f"{name}_ap"] = metrics.average_precision(base, labels)
    # where the hard cases land (median rank among all cases, 1 = top)
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[metrics.rank_order(scores)] = np.arange(1, len(scores) + 1)
    flag_ranks = np.empty(len(scores), dtype=np.int64)
    flag_ranks[metrics.rank_order(baselines["red_flag_count"])] = np.arange(1, len(scores) + 1)
    by_kind: dict[str, list[int]] = defaultdict(list)
    by_kind_flags: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(gen_case):
        kind = world.case_kinds[g].split(":")[1]
        by_kind[kind].append(int(ranks[i]))
        by_kind_flags[kind].append(int(flag_ranks[i]))
    for kind in ("quiet", "hub_legit", "formation_agent", "false_alarm", "near_miss"):
        if by_kind[kind]:
            out[f"rank_{kind}"] = statistics.median(by_kind[kind])
            out[f"flagrank_{kind}"] = statistics.median(by_kind_flags[kind])
    return out


def main() -> None:
    print(
        f"synthetic benchmark: seeds={SEEDS} cases/seed={N_CASES} k={K} "
        f"config={DEFAULT_CONFIG.version} exportcontrol_available={domain.available()}"
    )
    rows = []
    for seed in SEEDS:
        r = _evaluate(seed)
        rows.append(r)
        print(
            f"seed {seed}: grouped cases {int(r['cases'])} (generator {int(r['generator_cases'])},"
            f" mixed {int(r['mixed_cases'])}), relevant {int(r['relevant'])}; "
            f"model ndcg@{K} {r['ndcg']:.3f} p@{K} {r['precision']:.3f} AP {r['ap']:.3f}; "
            f"baselines ndcg@{K}: hit {r['screening_hit_ndcg']:.3f}, "
            f"flags {r['red_flag_count_ndcg']:.3f}; AP: hit {r['screening_hit_ap']:.3f}, "
            f"flags {r['red_flag_count_ap']:.3f} ({r['seconds']:.1f} s)"
        )
        hard = ", ".join(
            f"{kind} {r[f'rank_{kind}']:.0f}/{r[f'flagrank_{kind}']:.0f}"
            for kind in ("quiet", "hub_legit", "formation_agent", "false_alarm", "near_miss")
            if f"rank_{kind}" in r
        )
        print(f"    median rank of hard cases (model/red-flag baseline): {hard}")

    def mean(key: str) -> float:
        return statistics.fmean(r[key] for r in rows)

    baseline_name = max(("screening_hit", "red_flag_count"), key=lambda b: mean(f"{b}_ndcg"))
    print(
        f"mean: ndcg@{K} {mean('ndcg'):.3f}, p@{K} {mean('precision'):.3f}, AP {mean('ap'):.3f}; "
        f"better baseline {baseline_name}: ndcg@{K} {mean(f'{baseline_name}_ndcg'):.3f}, "
        f"AP {mean(f'{baseline_name}_ap'):.3f}; "
        f"margin {mean('ndcg') - mean(f'{baseline_name}_ndcg'):+.3f}"
    )
    print(
        f"RESULT scoring_quality ndcg50={mean('ndcg'):.3f} "
        f"baseline_ndcg50={mean(f'{baseline_name}_ndcg'):.3f} "
        f"precision50={mean('precision'):.3f} average_precision={mean('ap'):.3f} "
        f"seeds={','.join(str(s) for s in SEEDS)}"
    )


if __name__ == "__main__":
    main()
