"""Export-control helpers for AI-chip diversion and military-AI reports (plain Python, no Django).

* :mod:`exportcontrol.catalogue` - real accelerators with sourced throughput/die-area figures.
* :mod:`exportcontrol.classify` - TPP, performance density and ECCN 3A090 verdicts by rule vintage.
* :mod:`exportcontrol.countries` - dated, cited country groups and destination/transit risk.
* :mod:`exportcontrol.compute` - training-compute thresholds (EU AI Act, former US 10^26).

Figures, thresholds and groups are data files under ``exportcontrol/data/``.
"""

from exportcontrol._data import DataError
from exportcontrol.catalogue import VALID_BIT_LENGTHS, Chip, DenseRate, all_chips, lookup
from exportcontrol.classify import (
    DEFAULT_RULE,
    H100_TPP,
    RULES,
    Rule,
    Verdict,
    classify,
    classify_all,
    classify_specs,
    performance_density,
    tpp,
)
from exportcontrol.compute import ComputeBand, compute_band, compute_band_info, parse_flop
from exportcontrol.countries import (
    GROUPS,
    CountryGroup,
    Membership,
    destination_risk,
    groups_of,
    is_allied,
    is_valid_country,
    memberships,
    normalize_country,
    transit_risk,
)

__all__ = [
    "DEFAULT_RULE",
    "GROUPS",
    "H100_TPP",
    "RULES",
    "VALID_BIT_LENGTHS",
    "Chip",
    "ComputeBand",
    "CountryGroup",
    "DataError",
    "DenseRate",
    "Membership",
    "Rule",
    "Verdict",
    "all_chips",
    "classify",
    "classify_all",
    "classify_specs",
    "compute_band",
    "compute_band_info",
    "destination_risk",
    "groups_of",
    "is_allied",
    "is_valid_country",
    "lookup",
    "memberships",
    "normalize_country",
    "parse_flop",
    "performance_density",
    "tpp",
    "transit_risk",
]
