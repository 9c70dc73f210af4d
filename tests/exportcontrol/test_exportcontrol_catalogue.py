"""Catalogue contents and tolerant name lookup."""

from __future__ import annotations

import dataclasses

import pytest

from exportcontrol._data import DataError
from exportcontrol.catalogue import _parse_chip, all_chips, lookup, normalize_name

REQUIRED = {
    "H100 SXM",
    "H800 SXM",
    "H20",
    "H200 SXM",
    "A100 SXM",
    "A800",
    "L40S",
    "Ascend 910B",
    "Instinct MI300X",
    "Instinct MI325X",
    "Gaudi 3",
}


def test_catalogue_holds_the_required_chips_and_nothing_unsourced() -> None:
    chips = all_chips()
    names = [c.name for c in chips]
    assert set(names) >= REQUIRED
    assert len(names) == len(set(names))
    for chip in chips:
        assert chip.source.strip(), chip.name
        assert chip.dense_rates, chip.name
        assert chip.manufacturer in {"NVIDIA", "AMD", "Intel", "Huawei"}


def test_chips_without_reference_figures_are_left_out() -> None:
    assert lookup("H100 PCIe") is None
    assert lookup("GeForce RTX 4090") is None
    assert lookup("RTX 4090") is None


def test_all_chips_returns_a_copy() -> None:
    first = all_chips()
    first.clear()
    assert len(all_chips()) >= len(REQUIRED)


def test_chip_is_frozen() -> None:
    chip = lookup("H100")
    assert chip is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        chip.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("H100", "H100 SXM"),
        ("h100", "H100 SXM"),
        ("  H100 SXM5  ", "H100 SXM"),
        ("NVIDIA H100 80GB", "H100 SXM"),
        ("nvidia-h100-sxm5", "H100 SXM"),
        ("NVIDIA H100 Tensor Core GPU", "H100 SXM"),
        ("H800", "H800 SXM"),
        ("nvidia h800 80 gb", "H800 SXM"),
        ("HGX H20", "H20"),
        ("H200 141GB", "H200 SXM"),
        ("A100 40GB", "A100 SXM"),
        ("a100-sxm4-80gb", "A100 SXM"),
        ("A800", "A800"),
        ("l40s", "L40S"),
        ("Huawei Ascend 910B", "Ascend 910B"),
        ("ascend-910b", "Ascend 910B"),
        ("910B", "Ascend 910B"),
        ("AMD Instinct MI300X", "Instinct MI300X"),
        ("mi-300x", "Instinct MI300X"),
        ("MI325X", "Instinct MI325X"),
        ("Intel Gaudi 3", "Gaudi 3"),
        ("gaudi3", "Gaudi 3"),
        ("Habana Gaudi-3", "Gaudi 3"),
    ],
)
def test_lookup_is_tolerant_of_case_spacing_hyphens_and_vendor(query: str, expected: str) -> None:
    chip = lookup(query)
    assert chip is not None
    assert chip.name == expected


@pytest.mark.parametrize(
    "query", ["", "   ", "NVIDIA", "H10", "H1000", "MI300", "910", "A100 PCIe"]
)
def test_lookup_returns_none_for_unknown_or_partial_names(query: str) -> None:
    assert lookup(query) is None


def test_normalize_name_drops_vendor_memory_and_separators() -> None:
    assert normalize_name("NVIDIA H100-SXM5 80GB") == "h100sxm5"
    assert normalize_name("Ascend_910B") == "ascend910b"


def test_h200_and_mi325x_carry_the_same_compute_as_their_siblings() -> None:
    h100, h200 = lookup("H100"), lookup("H200")
    mi300x, mi325x = lookup("MI300X"), lookup("MI325X")
    assert h100
    assert h200
    assert mi300x
    assert mi325x
    assert h200.rates_by_bits == h100.rates_by_bits == {8: 1978.9, 16: 989.4}
    assert mi325x.rates_by_bits == mi300x.rates_by_bits


def test_uncertainty_and_io_figures_are_recorded() -> None:
    ascend, h100, h800, a800 = (lookup(n) for n in ("910B", "H100", "H800", "A800"))
    assert ascend
    assert h100
    assert h800
    assert a800
    assert ascend.uncertain
    assert not h100.uncertain
    assert "uncertain" in ascend.source
    assert h800.io_bandwidth_gbps == 400
    assert a800.io_bandwidth_gbps == 400
    assert h100.io_bandwidth_gbps is None  # the reference gives no figure


def _raw(**overrides: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "name": "Test chip",
        "manufacturer": "Test",
        "aliases": [],
        "dense_rates": [{"bits": 8, "rate": 100, "formats": "INT8"}],
        "die_area_mm2": None,
        "datacenter": True,
        "io_bandwidth_gbps": None,
        "uncertain": False,
        "source": "test",
        "notes": "",
    }
    raw.update(overrides)
    return raw


def test_parse_chip_accepts_a_well_formed_entry() -> None:
    chip = _parse_chip(_raw(), 0)
    assert chip.rates_by_bits == {8: 100.0}


@pytest.mark.parametrize(
    "overrides",
    [
        {"dense_rates": [{"bits": 12, "rate": 100, "formats": "x"}]},
        {"dense_rates": [{"bits": 8, "rate": -1, "formats": "x"}]},
        {"dense_rates": []},
        {"source": "  "},
        {"die_area_mm2": 0},
        {"datacenter": "yes"},
    ],
)
def test_parse_chip_rejects_bad_data(overrides: dict[str, object]) -> None:
    with pytest.raises(DataError):
        _parse_chip(_raw(**overrides), 0)


def test_parse_chip_requires_explicit_null_for_unknown_area() -> None:
    raw = _raw()
    del raw["die_area_mm2"]
    with pytest.raises(DataError, match="die_area_mm2"):
        _parse_chip(raw, 0)
