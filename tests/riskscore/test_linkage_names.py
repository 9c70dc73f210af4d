"""Name evidence: rarity weighting, near-miss names kept apart, true variants linked."""

from __future__ import annotations

import random

import pytest

from riskscore.linkage import NameStats, cluster_reports
from riskscore.linkage.names import NameComparer
from riskscore.matching import normalize_name

from .linkage_helpers import shipment, together

STEMS = ["Golden Bridge", "Apex", "Orient", "Silver Star", "Great Wall", "Pacific Rim", "Sun Rise"]
GENERIC = ["Technology", "Logistics", "Trading", "Computing", "Industrial", "Electronics"]
LEGAL = ["Co., Ltd.", "Pte Ltd", "Limited", "LLC", "Sdn Bhd"]


def common_stem_stats() -> NameStats:
    """Names built from a small vocabulary, as real company names are."""
    rnd = random.Random(7)
    names = [f"{rnd.choice(STEMS)} {rnd.choice(GENERIC)} {rnd.choice(LEGAL)}" for _ in range(3000)]
    return NameStats.from_names(names)


def weight(stats: NameStats, a: str, b: str) -> float:
    return NameComparer(stats, -3.0, 16.0).compare(normalize_name(a), normalize_name(b))[0]


def test_generic_words_weigh_little_and_rare_stems_much() -> None:
    stats = common_stem_stats()
    assert weight(stats, "Apex Technology Ltd", "Orient Technology Ltd") == -3.0
    common = weight(stats, "Golden Bridge Logistics Ltd", "GOLDEN BRIDGE LOGISTICS LIMITED")
    rare = weight(stats, "Zhenbao Quantum Logistics Ltd", "ZHENBAO QUANTUM LOGISTICS LIMITED")
    assert rare > common + 4


@pytest.mark.parametrize("stats", [NameStats(), common_stem_stats()], ids=["empty", "common"])
def test_near_miss_names_do_not_link_on_names_alone(stats: NameStats) -> None:
    result = cluster_reports(
        [
            shipment("a", "Golden Bridge Logistics Co., Ltd.", day=None, quantity=10),
            shipment("b", "Golden Bridge Industrial Co., Ltd.", day=None, quantity=500),
        ],
        stats=stats,
    )
    assert not together(result, "a", "b")


@pytest.mark.parametrize(
    "variant",
    [
        "ZHENBAO QUANTUM LOGISTICS LIMITED",  # upper case, legal form
        "Quantum Zhenbao Logistics Co Ltd",  # word order
        "Zhenboa Quantum Logistics Pte Ltd",  # typo
        "Женбао Квантум Логистикс",  # Cyrillic transliteration
        "Zhenbao Quantum Logistic Co., Ltd.",  # singular
        "Blue Heron Ltd (a.k.a. Zhenbao Quantum Logistics)",  # an alias written in the name
    ],
)
def test_true_variants_of_a_rare_name_link(variant: str) -> None:
    result = cluster_reports(
        [
            shipment("a", "Zhenbao Quantum Logistics Co., Ltd."),
            shipment("b", variant),
        ],
        stats=common_stem_stats(),
    )
    assert together(result, "a", "b"), variant


def test_common_name_shared_by_unrelated_shipments_needs_more_than_the_name() -> None:
    stats = common_stem_stats()
    same_name = "Apex Trading Co., Ltd."
    result = cluster_reports(
        [
            shipment("a", same_name, day="2026-01-10", quantity=16, model="A100"),
            shipment("b", same_name, day="2026-08-20", quantity=480, model="H100"),
            # the same shipment as a, reported by another node
            shipment("c", "APEX TRADING LIMITED", day="2026-01-11", quantity=16, model="A100"),
        ],
        stats=stats,
    )
    assert together(result, "a", "c")
    assert not together(result, "a", "b")


def test_name_stats_round_trip_through_a_dict() -> None:
    stats = NameStats.from_names(["Golden Bridge Logistics Ltd", "Apex Trading"], ["x y|SG"])
    again = NameStats.from_dict(stats.to_dict())
    assert again == stats
    assert again.token_df[normalize_name("bridge")] == 1
    with pytest.raises(ValueError, match="n_names"):
        NameStats.from_dict({"n_names": -1})
