"""Training-compute bands and FLOP parsing."""

from __future__ import annotations

import pytest

from exportcontrol.compute import BANDS, compute_band, compute_band_info, parse_flop

BELOW = "below 1e25"
EU = "EU AI Act systemic-risk presumption (>1e25, Art. 51(2))"
ABOVE = "above 1e26 (former 4E091 / EO 14110 threshold, rescinded)"


@pytest.mark.parametrize(
    ("flop", "label"),
    [
        (0, BELOW),
        (3.8e24, BELOW),
        (1e25, BELOW),  # "greater than 10^25": the threshold itself is not above it
        (1.0000001e25, EU),
        (3.2e25, EU),
        (1e26, EU),
        (1.0000001e26, ABOVE),
        (5e26, ABOVE),
    ],
)
def test_compute_band_boundaries(flop: float, label: str) -> None:
    assert compute_band(flop) == label


def test_bands_carry_status_notes_and_sources() -> None:
    assert [b.label for b in BANDS] == [BELOW, EU, ABOVE]
    assert "Art. 51(2)" in compute_band_info(2e25).status
    above = compute_band_info(2e26).status
    assert "rescinded" in above
    assert "revoked" in above
    assert "4E091" in above
    assert all(b.source.startswith("Reference 1.5") for b in BANDS)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "1e25"])
def test_compute_band_rejects_bad_values(bad: object) -> None:
    with pytest.raises(ValueError, match="training compute"):
        compute_band(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3.2e25", 3.2e25),
        ("3.2E+25", 3.2e25),
        ("32000000000000000000000000", 3.2e25),
        ("  1e26  ", 1e26),
        ("+2e25", 2e25),
        (".5e25", 5e24),
        ("7.", 7.0),
        ("0", 0.0),
        ("10^25", 1e25),
        ("3.2 x 10^25", 3.2e25),
        ("3.2×10^25", 3.2e25),
        ("3.2*10**25", 3.2e25),
        ("2X10^+26", 2e26),
        ("1e25 FLOP", 1e25),
        ("2.5e24 FLOPs", 2.5e24),
    ],
)
def test_parse_flop_accepts_common_notations(text: str, value: float) -> None:
    assert parse_flop(text) == value


def test_plain_and_scientific_forms_give_the_identical_float() -> None:
    assert parse_flop("32000000000000000000000000") == parse_flop("3.2e25") == 3.2e25


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "3.2e",
        "e25",
        "3.2e25.1",
        "1,000",
        "1_000",
        "nan",
        "inf",
        "Infinity",
        "-1e25",
        "1e400",
        "1e-999",
        "10^999",
        "3.2 e25",
        "\u0663e25",  # Arabic-Indic digit three
        "0x10",
        "1e25 FLOP/s",
        "FLOP",
        "1e25 tokens",
        "1" * 101,
    ],
)
def test_parse_flop_refuses_junk(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any clear ValueError is the contract
        parse_flop(text)


def test_parse_flop_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        parse_flop(3.2e25)  # type: ignore[arg-type]
