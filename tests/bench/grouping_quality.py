"""Grouping quality: do reports of one event end up in one case, and only those?

Data: ``grouping_world`` (its docstring is the specification), 5,000 true cases per seed,
several seeds. Figures: pairwise precision / recall / F1 of "same case", B-cubed F1, the largest
case's share of reports, for the linkage (through ``riskscore.grouping.group_reports``, the path
offline scoring uses), a naive exact-key baseline (union-find over identical serial, shipment
reference, or normalised consignee name + country), and ablations of the linkage: no token
rarity (empty name statistics), no negative evidence (disagreement weighs nothing).
Also prints the linkage's wall time per seed.

Run: .venv/bin/python tests/bench/grouping_quality.py [--seeds 1,2,3] [--cases 5000]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from riskscore.grouping import group_reports  # noqa: E402
from riskscore.linkage import LinkageConfig, NameStats  # noqa: E402
from tests.bench.grouping_world import generate  # noqa: E402

Predicted = dict[str, int]


def _pairs(sizes: Sequence[int]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes)


def scores(truth: Mapping[str, int], predicted: Mapping[str, int]) -> dict[str, float]:
    ids = list(truth)
    both = Counter((truth[r], predicted[r]) for r in ids)
    true_sizes = Counter(truth[r] for r in ids)
    pred_sizes = Counter(predicted[r] for r in ids)
    tp = _pairs(list(both.values()))
    pred_pairs = _pairs(list(pred_sizes.values()))
    true_pairs = _pairs(list(true_sizes.values()))
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    # B-cubed: per report, share of its predicted case that is its true case and vice versa
    b_precision = sum(both[(truth[r], predicted[r])] / pred_sizes[predicted[r]] for r in ids)
    b_recall = sum(both[(truth[r], predicted[r])] / true_sizes[truth[r]] for r in ids)
    bp, br = b_precision / len(ids), b_recall / len(ids)
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "bcubed_f1": 2 * bp * br / (bp + br) if bp + br else 0.0,
        "largest_share": max(pred_sizes.values()) / len(ids),
        "cases": float(len(pred_sizes)),
    }


_ALNUM = re.compile(r"[^0-9a-z]+")


def baseline(reports: Sequence[Mapping[str, Any]]) -> Predicted:
    """Union-find over exact keys: serial, shipment reference, lower-cased name + country."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, str] = {}
    for report in reports:
        rid = str(report["id"])
        find(rid)
        details = report.get("details") or {}
        keys: list[str] = []
        for item in details.get("items") or ():
            keys.extend(f"s:{_ALNUM.sub('', s.lower())}" for s in item.get("serials") or ())
        if details.get("shipment_ref"):
            keys.append(f"r:{_ALNUM.sub('', details['shipment_ref'].lower())}")
        for role in ("consignee", "customer", "organisation"):
            party = details.get(role)
            if party and party.get("name"):
                keys.append(
                    f"n:{_ALNUM.sub(' ', party['name'].lower()).strip()}|{party.get('country')}"
                )
        for key in keys:
            if key in owner:
                parent[find(rid)] = find(owner[key])
            else:
                owner[key] = rid
    roots: dict[str, int] = {}
    return {rid: roots.setdefault(find(rid), len(roots)) for rid in parent}


def linkage(
    reports: Sequence[Mapping[str, Any]],
    config: LinkageConfig | None = None,
    stats: NameStats | None = None,
) -> Predicted:
    grouping = group_reports(reports, config=config, stats=stats)
    return dict(grouping.case_of)


def no_negative_evidence() -> LinkageConfig:
    cfg = LinkageConfig()
    negative = {
        k: 0.0
        for k, v in cfg.to_dict().items()
        if isinstance(v, float) and v < 0 and k not in ("veto",)
    }
    return replace(cfg, **negative, veto=-1e9, min_mean=-1e9)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--cases", type=int, default=5000)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    variants: dict[str, Callable[[Sequence[Mapping[str, Any]]], Predicted]] = {
        "linkage": linkage,
        "baseline": baseline,
        "no_rarity": lambda reports: linkage(reports, stats=NameStats()),
        "no_negative": lambda reports: linkage(reports, config=no_negative_evidence()),
    }
    results: dict[str, list[dict[str, float]]] = defaultdict(list)
    for seed in seeds:
        world = generate(seed, args.cases)
        n_reports = len(world.case_of)
        for name, run in variants.items():
            started = time.perf_counter()
            predicted = run(world.reports)
            elapsed = time.perf_counter() - started
            got = scores(world.case_of, predicted)
            results[name].append(got)
            print(
                f"seed {seed} {name:12s} reports={n_reports} cases={got['cases']:.0f} "
                f"P={got['precision']:.3f} R={got['recall']:.3f} F1={got['f1']:.3f} "
                f"B3={got['bcubed_f1']:.3f} largest={got['largest_share']:.4f} "
                f"seconds={elapsed:.1f}",
                flush=True,
            )

    def mean(name: str, key: str) -> float:
        return sum(r[key] for r in results[name]) / len(results[name])

    for name in variants:
        print(
            f"mean {name:12s} P={mean(name, 'precision'):.3f} R={mean(name, 'recall'):.3f} "
            f"F1={mean(name, 'f1'):.3f} B3={mean(name, 'bcubed_f1'):.3f} "
            f"largest={mean(name, 'largest_share'):.4f}"
        )
    print(
        f"RESULT grouping_quality pairwise_f1={mean('linkage', 'f1'):.3f} "
        f"bcubed_f1={mean('linkage', 'bcubed_f1'):.3f} "
        f"largest_case_share={max(r['largest_share'] for r in results['linkage']):.4f} "
        f"baseline_pairwise_f1={mean('baseline', 'f1'):.3f} "
        f"no_rarity_pairwise_f1={mean('no_rarity', 'f1'):.3f} "
        f"no_negative_pairwise_f1={mean('no_negative', 'f1'):.3f} "
        f"seeds={','.join(map(str, seeds))}"
    )


if __name__ == "__main__":
    main()
