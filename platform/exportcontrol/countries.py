"""Country groups (ISO 3166-1 alpha-2) and simple destination/transit risk values.

Groups are data in ``exportcontrol/data/country_groups.json``: every group carries a legal basis,
an ``as_of`` date, a ``source`` and a ``partial`` flag, and every member its own certainty mark
([V] verbatim, [S] secondary, [U] unconfirmed) and source, as established by the project's
reference (``shared/reference/export-controls-and-scoring.md`` sections 1.3, 1.4, 1.7, 3.7).
The EAR lists (D:5, D:1/D:4) are **partial** and unverified against eCFR: a country's absence
from them proves nothing.

Country codes are validated against the full ISO 3166-1 list shipped by ``pycountry``.

Risk table (design priors for the risk score, not official values; the highest applicable
value wins, "allied" and "other" apply only to a country in none of the listed risk groups):

============================================  ===========  =======
Group                                          destination  transit
============================================  ===========  =======
D:5 (arms-embargoed) or Macau                  1.0          1.0
D:1/D:4 (licence-required, outside D:5)        0.6          0.5
Known AI-chip transshipment hub                0.6          0.8
Other, non-allied                              0.3          0.2
Allied partner (Five Eyes, EU, Japan)          0.05         0.05
============================================  ===========  =======

Transit weighs hubs above D:1/D:4 because routing through a hub is the documented diversion
pattern (reference 1.7), while a shipment to a D:1/D:4 country is licensed in the open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final

import pycountry

from exportcontrol._data import (
    DataError,
    get_bool,
    get_date,
    get_list,
    get_obj,
    get_str,
    load_json,
)

__all__ = [
    "ALLIED_RISK",
    "DESTINATION_RISK",
    "GROUPS",
    "OTHER_DESTINATION_RISK",
    "OTHER_TRANSIT_RISK",
    "TRANSIT_RISK",
    "CountryGroup",
    "Membership",
    "destination_risk",
    "groups_of",
    "is_allied",
    "is_valid_country",
    "memberships",
    "normalize_country",
    "transit_risk",
]

#: Group id -> destination risk for countries in that group.
DESTINATION_RISK: Final[Mapping[str, float]] = MappingProxyType(
    {"D5": 1.0, "MACAU": 1.0, "D1_D4": 0.6, "TRANSSHIPMENT_HUB": 0.6}
)
#: Group id -> transit risk for shipments routed through a country in that group.
TRANSIT_RISK: Final[Mapping[str, float]] = MappingProxyType(
    {"D5": 1.0, "MACAU": 1.0, "TRANSSHIPMENT_HUB": 0.8, "D1_D4": 0.5}
)
OTHER_DESTINATION_RISK: Final = 0.3
OTHER_TRANSIT_RISK: Final = 0.2
ALLIED_RISK: Final = 0.05

_ISO_ALPHA2: Final[frozenset[str]] = frozenset(c.alpha_2 for c in pycountry.countries)
COUNTRY_CODES: Final[tuple[str, ...]] = tuple(sorted(_ISO_ALPHA2))
_CERTAINTIES: Final = frozenset({"V", "S", "U"})


@dataclass(frozen=True)
class Membership:
    """A country's membership of one group, with the evidence for it."""

    group: str
    code: str
    certainty: str  # "V", "S" or "U" (see module docstring)
    source: str


@dataclass(frozen=True)
class CountryGroup:
    """One dated, cited group of countries from ``data/country_groups.json``."""

    group_id: str
    name: str
    legal_basis: str
    as_of: date
    partial: bool  # True: the real group has members not listed here
    allied_partner: bool
    historical: bool  # True: kept for reference only, never enters the risk values
    source: str
    notes: str
    members: Mapping[str, Membership]

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self.members)

    @property
    def uncertain_codes(self) -> frozenset[str]:
        """Members the reference does not confirm verbatim ([S] or [U])."""
        return frozenset(c for c, m in self.members.items() if m.certainty != "V")


def _parse_group(group_id: str, raw: object) -> CountryGroup:
    where = f"country_groups.json {group_id!r}"
    if not isinstance(raw, dict):
        raise DataError(f"{where}: must be an object")
    members: dict[str, Membership] = {}
    for item in get_list(raw, "members", where):
        if not isinstance(item, dict):
            raise DataError(f"{where}: each member must be an object")
        code = get_str(item, "code", where)
        certainty = get_str(item, "certainty", where)
        if code not in _ISO_ALPHA2:
            raise DataError(f"{where}: {code!r} is not an ISO 3166-1 alpha-2 code")
        if certainty not in _CERTAINTIES or code in members:
            raise DataError(f"{where}: bad certainty or duplicate member for {code!r}")
        members[code] = Membership(group_id, code, certainty, get_str(item, "source", where))
    if not members:
        raise DataError(f"{where}: has no members")
    return CountryGroup(
        group_id=group_id,
        name=get_str(raw, "name", where),
        legal_basis=get_str(raw, "legal_basis", where),
        as_of=get_date(raw, "as_of", where),
        partial=get_bool(raw, "partial", where),
        allied_partner=get_bool(raw, "allied_partner", where),
        historical=get_bool(raw, "historical", where),
        source=get_str(raw, "source", where),
        notes=get_str(raw, "notes", where),
        members=MappingProxyType(members),
    )


def _load_groups() -> Mapping[str, CountryGroup]:
    raw = get_obj(load_json("country_groups.json"), "groups", "country_groups.json")
    groups = {gid: _parse_group(gid, item) for gid, item in raw.items()}
    for gid in {*DESTINATION_RISK, *TRANSIT_RISK}:
        if gid not in groups or groups[gid].historical or groups[gid].allied_partner:
            raise DataError(f"country_groups.json: risk group {gid!r} missing or mis-flagged")
    return MappingProxyType(groups)


#: Group id -> :class:`CountryGroup`.
GROUPS: Final[Mapping[str, CountryGroup]] = _load_groups()


def is_valid_country(code: str) -> bool:
    """True if ``code`` is an ISO 3166-1 alpha-2 code (case and surrounding spaces ignored)."""
    return isinstance(code, str) and code.strip().upper() in _ISO_ALPHA2


def normalize_country(code: str) -> str:
    """The upper-case ISO 3166-1 alpha-2 code, or ``ValueError`` (e.g. for "UK": use "GB")."""
    if not is_valid_country(code):
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code.strip().upper()


def memberships(country: str) -> tuple[Membership, ...]:
    """Every group membership of ``country`` with its certainty and source."""
    code = normalize_country(country)
    return tuple(g.members[code] for g in GROUPS.values() if code in g.members)


def groups_of(country: str) -> frozenset[str]:
    """Ids of the groups ``country`` is listed in (including historical and uncertain listings)."""
    return frozenset(m.group for m in memberships(country))


def is_allied(country: str) -> bool:
    """True for a platform allied partner (Five Eyes, EU member state, Japan)."""
    return any(GROUPS[g].allied_partner for g in groups_of(country))


def _risk(country: str, table: Mapping[str, float], other: float) -> float:
    groups = groups_of(country)
    listed = [table[g] for g in groups if g in table]
    if listed:
        return max(listed)
    return ALLIED_RISK if any(GROUPS[g].allied_partner for g in groups) else other


def destination_risk(country: str) -> float:
    """Risk in [0, 1] of ``country`` as final destination (table in the module docstring)."""
    return _risk(country, DESTINATION_RISK, OTHER_DESTINATION_RISK)


def transit_risk(country: str) -> float:
    """Risk in [0, 1] of routing a shipment through ``country`` (table in the module docstring)."""
    return _risk(country, TRANSIT_RISK, OTHER_TRANSIT_RISK)
