"""Country groups (dated, cited) and destination/transit risk."""

from __future__ import annotations

import pycountry
import pytest

from exportcontrol._data import DataError
from exportcontrol.countries import (
    ALLIED_RISK,
    DESTINATION_RISK,
    GROUPS,
    TRANSIT_RISK,
    _parse_group,
    destination_risk,
    groups_of,
    is_allied,
    is_valid_country,
    memberships,
    normalize_country,
    transit_risk,
)

EU27 = {
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
}


def test_d5_lists_the_members_the_reference_names_and_is_marked_partial() -> None:
    d5 = GROUPS["D5"]
    assert d5.codes == {"CN", "RU", "IR", "KP", "BY", "VE", "CU", "SY", "MM"}
    assert d5.partial
    assert d5.uncertain_codes == {"BY", "VE", "SY", "MM"}
    assert "15 CFR Part 740" in d5.legal_basis
    assert "brookings" in d5.source


def test_macau_and_d1_d4_groups() -> None:
    assert GROUPS["MACAU"].codes == {"MO"}
    d1d4 = GROUPS["D1_D4"]
    assert d1d4.codes == {"SA", "AE", "VN", "QA"}
    assert d1d4.partial
    assert "QA" in d1d4.uncertain_codes
    assert "IL" not in d1d4.codes  # excluded by the 8-K wording


def test_transshipment_hubs_are_only_those_the_reference_supports() -> None:
    hubs = GROUPS["TRANSSHIPMENT_HUB"]
    assert hubs.codes == {"MY", "TH", "SG", "AE", "HK"}
    assert "VN" not in hubs.codes  # "Vietnam not evidenced" in the reference
    assert "TW" not in hubs.codes
    for member in hubs.members.values():
        assert member.source


def test_allied_partner_groups() -> None:
    assert GROUPS["FIVE_EYES"].codes == {"US", "GB", "CA", "AU", "NZ"}
    assert GROUPS["EU"].codes == EU27
    assert GROUPS["JAPAN"].codes == {"JP"}
    allied = {g for g, group in GROUPS.items() if group.allied_partner}
    assert allied == {"FIVE_EYES", "EU", "JAPAN"}


def test_historical_tier1_group_is_kept_but_flagged() -> None:
    tier1 = GROUPS["AI_DIFFUSION_TIER1"]
    assert tier1.historical
    assert len(tier1.codes) == 19
    assert {"US", "TW", "KR", "NO"} <= tier1.codes
    assert "PL" not in tier1.codes


def test_every_group_is_dated_and_cited_and_risk_groups_exclude_allies() -> None:
    for group in GROUPS.values():
        assert group.source.strip()
        assert group.legal_basis.strip()
        assert group.as_of.year >= 2025
        assert all(m.certainty in {"V", "S", "U"} and m.source for m in group.members.values())
    risky = set().union(*(GROUPS[g].codes for g in DESTINATION_RISK))
    allied = set().union(*(g.codes for g in GROUPS.values() if g.allied_partner))
    assert not risky & allied


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("CN", {"D5"}),
        ("cn", {"D5"}),
        (" ru ", {"D5"}),
        ("MO", {"MACAU"}),
        ("AE", {"D1_D4", "TRANSSHIPMENT_HUB"}),
        ("DE", {"EU", "AI_DIFFUSION_TIER1"}),
        ("PL", {"EU"}),
        ("BR", set()),
    ],
)
def test_groups_of(country: str, expected: set[str]) -> None:
    assert groups_of(country) == expected


@pytest.mark.parametrize(
    ("country", "dest", "transit"),
    [
        ("CN", 1.0, 1.0),
        ("RU", 1.0, 1.0),
        ("KP", 1.0, 1.0),
        ("MM", 1.0, 1.0),
        ("MO", 1.0, 1.0),
        ("SA", 0.6, 0.5),
        ("VN", 0.6, 0.5),
        ("MY", 0.6, 0.8),
        ("SG", 0.6, 0.8),
        ("TH", 0.6, 0.8),
        ("HK", 0.6, 0.8),
        ("AE", 0.6, 0.8),  # both D:1/D:4 and hub: the higher value wins
        ("BR", 0.3, 0.2),
        ("IL", 0.3, 0.2),
        ("TW", 0.3, 0.2),  # historical Tier 1 membership does not lower the risk
        ("NO", 0.3, 0.2),
        ("US", 0.05, 0.05),
        ("GB", 0.05, 0.05),
        ("FR", 0.05, 0.05),
        ("JP", 0.05, 0.05),
        ("nz", 0.05, 0.05),
    ],
)
def test_risk_table(country: str, dest: float, transit: float) -> None:
    assert destination_risk(country) == dest
    assert transit_risk(country) == transit


def test_risk_is_in_unit_interval_for_every_iso_code() -> None:
    codes = [c.alpha_2 for c in pycountry.countries]
    assert len(codes) >= 249
    for code in codes:
        assert 0.0 <= destination_risk(code) <= 1.0
        assert 0.0 <= transit_risk(code) <= 1.0
    assert min(destination_risk(c) for c in codes) == ALLIED_RISK
    assert max(TRANSIT_RISK.values()) == 1.0


@pytest.mark.parametrize("code", ["UK", "XX", "", "CHN", "Germany", "EL", "XK", "C N"])
def test_invalid_codes_are_rejected(code: str) -> None:
    assert not is_valid_country(code)
    with pytest.raises(ValueError, match="ISO 3166-1"):
        destination_risk(code)
    with pytest.raises(ValueError, match="ISO 3166-1"):
        transit_risk(code)
    with pytest.raises(ValueError, match="ISO 3166-1"):
        groups_of(code)


def test_is_valid_country_covers_the_full_iso_list_and_non_strings() -> None:
    for code in ("AQ", "BV", "SS", "gb", " tw "):
        assert is_valid_country(code)
    assert not is_valid_country(None)  # type: ignore[arg-type]
    assert not is_valid_country(276)  # type: ignore[arg-type]
    assert normalize_country(" gb ") == "GB"


def test_memberships_carry_certainty_and_source() -> None:
    by_group = {m.group: m for m in memberships("ae")}
    assert set(by_group) == {"D1_D4", "TRANSSHIPMENT_HUB"}
    assert by_group["D1_D4"].certainty == "V"
    assert by_group["TRANSSHIPMENT_HUB"].certainty == "U"
    assert "videocardz" in by_group["D1_D4"].source


def test_is_allied() -> None:
    assert is_allied("FR")
    assert is_allied("ca")
    assert is_allied("JP")
    assert not is_allied("HK")
    assert not is_allied("TW")
    assert not is_allied("NO")


def test_group_loader_rejects_bad_codes() -> None:
    raw = {
        "name": "x",
        "legal_basis": "x",
        "as_of": "2026-01-01",
        "partial": False,
        "allied_partner": False,
        "historical": False,
        "source": "x",
        "notes": "",
        "members": [{"code": "UK", "certainty": "V", "source": "x"}],
    }
    with pytest.raises(DataError, match="UK"):
        _parse_group("T", raw)
    raw["members"] = [{"code": "GB", "certainty": "maybe", "source": "x"}]
    with pytest.raises(DataError, match="certainty"):
        _parse_group("T", raw)
