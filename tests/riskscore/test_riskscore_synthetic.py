"""The synthetic benchmark generator: deterministic per seed, hard cases present, honest noise."""

from __future__ import annotations

import json
from collections import Counter

from riskscore.matching import ScreeningIndex
from riskscore.synthetic import generate, generate_world


def test_same_seed_same_benchmark_other_seed_other_benchmark() -> None:
    one = generate(11, 150)
    two = generate(11, 150)
    other = generate(12, 150)
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert json.dumps(one, sort_keys=True) != json.dumps(other, sort_keys=True)


def test_labels_cover_every_report_and_copies_share_their_label() -> None:
    reports, labels = generate(3, 300)
    assert {r["id"] for r in reports} == set(labels)
    assert set(labels.values()) <= {0, 1}
    copies = Counter(r["id"] for r in reports)
    assert any(n > 1 for n in copies.values())  # relayed copies exist
    assert any(r["relayed_by"] for r in reports)
    assert any(r["status"] == "withdrawn" for r in reports)


def test_world_has_hard_cases_noise_and_a_synthetic_list() -> None:
    world = generate_world(4, 2000)
    kinds = Counter(kind.split(":")[1] for kind in world.case_kinds)
    for hard in ("quiet", "hub_legit", "formation_agent", "false_alarm", "near_miss"):
        assert kinds[hard] > 0, hard
    flipped = {
        world.case_of_report[r] for r in world.labels if world.labels[r] != world.true_labels[r]
    }
    assert 0 < len(flipped) < 0.08 * 2000
    assert all("Synthetic" in e.source for e in world.screening_entries)
    assert 0.02 <= world.params["base_rate"] <= 0.07
    ScreeningIndex.build(world.screening_entries)  # the list is usable as-is


def test_quiet_diverters_carry_fewer_red_flags_than_blatant_ones() -> None:
    world = generate_world(5, 3000)
    flags: dict[str, list[int]] = {"quiet": [], "blatant": []}
    for report in world.reports:
        kind = world.case_kinds[world.case_of_report[report["id"]]].split(":")[1]
        if kind in flags:
            flags[kind].append(len(report["details"].get("red_flags") or ()))
    assert sum(flags["quiet"]) / len(flags["quiet"]) < sum(flags["blatant"]) / len(flags["blatant"])
