"""TPP / performance density and ECCN 3A090 verdicts by rule vintage."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import pytest

from exportcontrol.catalogue import lookup
from exportcontrol.classify import (
    H100_TPP,
    RULES,
    classify,
    classify_all,
    classify_specs,
    performance_density,
    tpp,
)

# --- metrics ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected_tpp"),
    [
        ("H100", 15831.2),  # FP8 1,978.9 x 8 beats FP16 989.4 x 16 = 15,830.4
        ("H800", 15831.2),
        ("H20", 2368),
        ("A100", 4992),
        ("A800", 4992),
        ("L40S", 5864),  # FP8 733 x 8 beats FP16 362.05 x 16 = 5,792.8
        ("910B", 5120),
        ("MI300X", 20919.2),
        ("Gaudi 3", 29360),  # BF16 1,835 x 16 beats FP8 1,835 x 8
    ],
)
def test_tpp_is_max_over_precisions_of_rate_times_bits(name: str, expected_tpp: float) -> None:
    chip = lookup(name)
    assert chip is not None
    assert tpp(chip) == pytest.approx(expected_tpp, abs=1e-9)


def test_tpp_accepts_a_spec_mapping_and_bis_worked_example() -> None:
    # BIS: 4,800 is met by 600 TOPS at 8-bit or 300 TFLOPS at 16-bit.
    assert tpp({8: 600}) == 4800
    assert tpp({16: 300}) == 4800
    assert tpp({4: 100, 64: 10}) == 640


def test_performance_density() -> None:
    h100, h20, mi300x = lookup("H100"), lookup("H20"), lookup("MI300X")
    assert h100
    assert h20
    assert mi300x
    assert performance_density(h100) == pytest.approx(15831.2 / 814)
    assert performance_density(h20) == pytest.approx(2368 / 814)
    assert performance_density(mi300x) is None  # area unknown
    assert performance_density(mi300x, 2000) == pytest.approx(20919.2 / 2000)
    assert performance_density({8: 600}, 100) == 48
    assert performance_density({8: 600}) is None
    with pytest.raises(ValueError, match="die_area_mm2"):
        performance_density({8: 600}, 0)


# --- catalogue verdicts (Oct 2023 rule, the default) ---------------------------------------


@pytest.mark.parametrize(
    ("name", "eccn", "prong"),
    [
        ("H100", "3A090.a", "a.1"),
        ("H200", "3A090.a", "a.1"),
        ("A100", "3A090.a", "a.1"),
        ("H800", "3A090.a", "a.1"),
        ("A800", "3A090.a", "a.1"),
        ("L40S", "3A090.a", "a.1"),
        ("Ascend 910B", "3A090.a", "a.1"),
        ("MI300X", "3A090.a", "a.1"),
        ("MI325X", "3A090.a", "a.1"),
        ("Gaudi 3", "3A090.a", "a.1"),
        ("H20", None, None),
    ],
)
def test_catalogue_verdicts_under_the_2023_rule(
    name: str, eccn: str | None, prong: str | None
) -> None:
    verdict = classify(name)
    assert verdict.rule == "2023-10"
    assert verdict.determinate
    assert (verdict.eccn, verdict.prong) == (eccn, prong)
    assert verdict.controlled is (eccn is not None)


def test_h100_verdict_fields() -> None:
    v = classify("H100")
    assert v.subject == "H100 SXM"
    assert v.tpp == 15831
    assert v.pd == pytest.approx(19.45, abs=0.01)
    assert v.h100_equivalents == pytest.approx(15831.2 / H100_TPP)
    assert v.licence_exception is None
    assert "3A090.a.1" in v.reason
    assert "15,831.2" in v.reason
    assert "4,800" in v.reason
    assert "88 FR 73458" in v.reason


def test_h20_is_not_controlled_and_reason_names_every_missed_prong() -> None:
    v = classify("H20")
    assert v.eccn is None
    assert v.determinate
    assert v.controlled is False
    assert v.tpp == 2368
    assert v.pd == pytest.approx(2.909, abs=0.001)
    assert "2,368" in v.reason
    assert "2.91" in v.reason
    assert "b.1 needs TPP in [2,400, 4,800)" in v.reason
    assert "b.2 needs PD in [3.2, 5.92)" in v.reason
    assert "a.2 needs PD >= 5.92" in v.reason


def test_uncertain_chip_says_so_in_the_reason() -> None:
    assert "uncertain" in classify("910B").reason
    assert "uncertain" not in classify("H100").reason


def test_low_sku_910b_is_still_caught_by_the_density_prong() -> None:
    # Reference: ~280 TFLOPS FP16 SKU -> TPP 4,480 < 4,800 but PD 6.73 >= 5.92.
    v = classify_specs({16: 280, 8: 560}, 665.61, datacenter=True)
    assert (v.eccn, v.prong) == ("3A090.a", "a.2")
    assert v.tpp == 4480
    assert v.pd == pytest.approx(6.731, abs=0.001)
    assert "5.92" in v.reason


def test_classify_accepts_a_chip_object_and_rejects_unknown_names_and_rules() -> None:
    chip = lookup("A100")
    assert chip is not None
    assert classify(chip) == classify("nvidia a100 80gb")
    with pytest.raises(ValueError, match="unknown accelerator"):
        classify("H100 PCIe")
    with pytest.raises(ValueError, match="unknown rule"):
        classify("H100", rule="2024-12")


# --- Oct 2022 rule --------------------------------------------------------------------------


def test_h800_and_a800_escaped_the_2022_rule_through_the_io_prong() -> None:
    for name in ("H800", "A800"):
        v = classify(name, rule="2022-10")
        assert v.determinate
        assert v.eccn is None
        assert v.controlled is False
        assert "400 GB/s is below 600 GB/s" in v.reason


def test_2022_verdict_is_indeterminate_without_an_io_figure() -> None:
    v = classify("H100", rule="2022-10")
    assert not v.determinate
    assert v.eccn is None
    assert v.controlled is None
    assert "I/O bandwidth is unknown" in v.reason


def test_h20_is_determinately_outside_the_2022_rule() -> None:
    v = classify("H20", rule="2022-10")
    assert v.determinate
    assert v.eccn is None
    assert "below 4,800" in v.reason


def test_classify_all_covers_each_vintage_oldest_first() -> None:
    verdicts = classify_all("H800")
    assert list(verdicts) == ["2022-10", "2023-10"]
    assert verdicts["2022-10"].controlled is False
    assert verdicts["2023-10"].controlled is True


@pytest.mark.parametrize(
    ("io", "eccn", "determinate"),
    [(600, "3A090.a", True), (599.9, None, True), (None, None, False)],
)
def test_2022_io_boundary(io: float | None, eccn: str | None, determinate: bool) -> None:
    v = classify_specs({8: 600}, None, datacenter=False, io_bandwidth_gbps=io, rule="2022-10")
    assert v.eccn == eccn
    assert v.determinate is determinate
    assert v.prong == ("a-2022" if eccn else None)


def test_2022_rule_below_4800_ignores_missing_io() -> None:
    v = classify_specs({8: 599.99}, None, datacenter=True, rule="2022-10")
    assert v.determinate
    assert v.eccn is None


# --- Oct 2023 boundaries (datacenter chips) -------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "area", "eccn", "prong"),
    [
        # a.1: TPP exactly 4,800 (area irrelevant, even unknown)
        ({16: 300}, None, "3A090.a", "a.1"),
        ({8: 600}, 10_000, "3A090.a", "a.1"),
        # just below 4,800 with a tiny PD: nothing
        ({8: 599.99}, 10_000, None, None),
        # a.2: TPP exactly 1,600 with PD 8
        ({16: 100}, 200, "3A090.a", "a.2"),
        # a.2: PD exactly 5.92 (1,776 / 300 and 2,960 / 500)
        ({8: 222}, 300, "3A090.a", "a.2"),
        ({8: 370}, 500, "3A090.a", "a.2"),
        # PD a hair under 5.92 with TPP 2,960: falls to b.1
        ({8: 370}, 500.0001, "3A090.b", "b.1"),
        # PD a hair under 5.92 with TPP 1,776 (< 2,400): b.2
        ({8: 222}, 300.0001, "3A090.b", "b.2"),
        # below the 1,600 floor, whatever the density
        ({16: 99.99}, 1, None, None),
        # b.1 lower edges: TPP exactly 2,400 and PD exactly 1.6
        ({8: 300}, 1500, "3A090.b", "b.1"),
        # b.1 with PD just under 1.6: b.2 needs PD >= 3.2 -> nothing
        ({8: 300}, 1500.01, None, None),
        # TPP just under 2,400 with PD 1.6: not b.1, and PD < 3.2 -> nothing
        ({8: 299.99}, 1499.95, None, None),
        # b.2 edges: TPP exactly 1,600 and PD exactly 3.2
        ({16: 100}, 500, "3A090.b", "b.2"),
        ({16: 100}, 500.01, None, None),
        # b.2 upper: TPP 2,000 (< 2,400) with PD 5.0
        ({16: 125}, 400, "3A090.b", "b.2"),
        # b.1 with PD 5.0 (also in b.2's range; b.1 is reported first)
        ({8: 375}, 600, "3A090.b", "b.1"),
    ],
)
def test_2023_thresholds_at_their_edges(
    rates: dict[int, float], area: float | None, eccn: str | None, prong: str | None
) -> None:
    v = classify_specs(rates, area, datacenter=True)
    assert v.determinate
    assert (v.eccn, v.prong) == (eccn, prong), v.reason
    assert v.licence_exception == ("NAC/ACA" if eccn == "3A090.b" else None)


def test_exact_arithmetic_puts_pd_5_92_on_the_threshold() -> None:
    # 200.059 x 8 / 270.35 is exactly 5.92, but naive float arithmetic gives 5.9199999...
    assert 200.059 * 8 / 270.35 < 5.92
    v = classify_specs({8: 200.059}, 270.35, datacenter=True)
    assert (v.eccn, v.prong) == ("3A090.a", "a.2")
    assert v.pd == 5.92


def test_pd_just_under_a_threshold_is_not_printed_as_the_threshold() -> None:
    v = classify_specs({8: 370}, 500.0001, datacenter=True)
    assert v.pd is not None
    assert v.pd < 5.92
    assert "performance density 5.92 " not in v.reason
    assert "performance density 5.9199" in v.reason


def test_unknown_area_makes_the_density_band_indeterminate() -> None:
    v = classify_specs({8: 400}, None, datacenter=True)
    assert not v.determinate
    assert v.eccn is None
    assert v.controlled is None
    assert v.pd is None
    assert "die area is unknown" in v.reason
    # ... but below the 1,600 floor the area does not matter
    low = classify_specs({8: 150}, None, datacenter=True)
    assert low.determinate
    assert low.eccn is None
    assert "below 1,600" in low.reason


def test_tpp_is_rounded_half_up_and_h100_equivalents_use_15830() -> None:
    v = classify_specs({8: 600.0625}, None, datacenter=True)  # TPP 4,800.5
    assert v.tpp == 4801
    one = classify_specs({16: 989.375}, None, datacenter=True)  # TPP exactly 15,830
    assert one.h100_equivalents == 1.0
    assert math.isclose(classify_specs({8: 1978.75 * 2}, None, True).h100_equivalents, 2.0)


# --- non-datacenter chips (Note 2 to 3A090) -------------------------------------------------


def test_non_datacenter_chip_at_4800_is_3a090a_but_nac_aca_eligible() -> None:
    v = classify_specs({8: 600}, 300, datacenter=False)
    assert (v.eccn, v.prong) == ("3A090.a", "non-datacenter-4800")
    assert v.licence_exception == "NAC/ACA"
    assert "not designed or marketed for datacenters" in v.reason


@pytest.mark.parametrize("area", [None, 100.0, 1000.0])
def test_non_datacenter_chip_below_4800_is_not_3a090_whatever_its_density(
    area: float | None,
) -> None:
    # As a datacenter chip, TPP 4,799.92 with area 100 would be a.2 (PD 48).
    v = classify_specs({8: 599.99}, area, datacenter=False)
    assert v.determinate
    assert v.eccn is None
    assert v.prong is None
    assert "Note 2" in v.reason
    assert classify_specs({8: 599.99}, 100, datacenter=True).prong == "a.2"


# --- input validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ({}, "empty"),
        ({12: 100.0}, "bit length 12 is not one of 4, 8, 16, 32, 64"),
        ({8: 0.0}, "positive"),
        ({8: -5.0}, "positive"),
        ({8: float("nan")}, "positive finite"),
        ({8: float("inf")}, "positive finite"),
        ({True: 100.0}, "bit length True"),
        ({8: True}, "positive"),
        ({"8": 100.0}, "bit length '8'"),
        ({8: "100"}, "positive"),
        ([(8, 100.0)], "mapping"),
    ],
)
def test_classify_specs_rejects_bad_rates(rates: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        classify_specs(rates, 100, datacenter=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"positive|bit length|empty|mapping"):
        tpp(rates)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"die_area_mm2": 0}, "die_area_mm2"),
        ({"die_area_mm2": -1}, "die_area_mm2"),
        ({"die_area_mm2": float("nan")}, "die_area_mm2"),
        ({"datacenter": "yes"}, "datacenter"),
        ({"datacenter": 1}, "datacenter"),
        ({"io_bandwidth_gbps": -1}, "io_bandwidth_gbps"),
        ({"rule": "2019-01"}, "unknown rule"),
    ],
)
def test_classify_specs_rejects_bad_other_inputs(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"die_area_mm2": 100, "datacenter": True}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        classify_specs({8: 100}, **args)  # type: ignore[arg-type]


# --- rule data ------------------------------------------------------------------------------


def test_rules_are_dated_cited_data() -> None:
    r23, r22 = RULES["2023-10"], RULES["2022-10"]
    assert r23.fr_citation == "88 FR 73458"
    assert r23.effective_from == date(2023, 11, 17)
    assert r23.released == date(2023, 10, 17)
    assert r23.effective_to is None
    assert dict(r23.thresholds) == {
        "a1_tpp_min": 4800,
        "a2_tpp_min": 1600,
        "a2_pd_min": 5.92,
        "b1_tpp_min": 2400,
        "b1_tpp_below": 4800,
        "b1_pd_min": 1.6,
        "b1_pd_below": 5.92,
        "b2_tpp_min": 1600,
        "b2_pd_min": 3.2,
        "b2_pd_below": 5.92,
        "non_datacenter_tpp_min": 4800,
    }
    assert r22.fr_citation == "87 FR 62186"
    assert r22.effective_from == date(2022, 10, 7)
    assert dict(r22.thresholds) == {"tpp_min": 4800, "io_bandwidth_gbps_min": 600}
    assert all(rule.source for rule in RULES.values())


def test_rules_and_verdicts_are_immutable() -> None:
    with pytest.raises(TypeError):
        RULES["x"] = RULES["2023-10"]  # type: ignore[index]
    with pytest.raises(TypeError):
        RULES["2023-10"].thresholds["a1_tpp_min"] = 1  # type: ignore[index]
    v = classify("H100")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.eccn = None  # type: ignore[misc]
