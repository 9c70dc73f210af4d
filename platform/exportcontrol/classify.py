"""ECCN 3A090 classification of AI accelerators by rule vintage.

Metrics (15 CFR 774 Supp. 1, 3A090 Technical Notes, as tabulated in the project's reference
``shared/reference/export-controls-and-scoring.md`` section 1.1):

* **TPP** (total processing performance) = max over supported precisions of
  dense TOPS/TFLOPS x operand bit length.
* **PD** (performance density) = TPP / applicable logic die area in mm² (HBM excluded).

Rule vintages (thresholds, Federal Register citations, dates) are data in
``exportcontrol/data/rules.json``; the predicate for each rule *kind* is in this module:

* ``"2023-10"`` (AC/S IFR, effective 2023-11-17, current text), kind ``tpp_and_pd``:
  a.1 TPP >= 4,800; a.2 TPP >= 1,600 and PD >= 5.92; b.1 2,400 <= TPP < 4,800 and
  1.6 <= PD < 5.92; b.2 TPP >= 1,600 and 3.2 <= PD < 5.92 - for chips designed or marketed for
  datacenters. Other chips (Note 2 to 3A090): TPP >= 4,800 is 3A090.a but eligible for License
  Exception NAC/ACA; below that they are not 3A090.
* ``"2022-10"`` (Oct 7 2022 IFR), kind ``tpp_and_io``: 3A090.a = TPP >= 4,800 and aggregate
  bidirectional I/O >= 600 GB/s. A chip without a known I/O figure gets an *indeterminate*
  verdict when its TPP is high enough for the I/O test to matter.

All threshold comparisons use exact decimal arithmetic (see :func:`exportcontrol._data.exact`),
so a chip sitting exactly on a threshold is classified as the rule text says.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from exportcontrol._data import (
    DataError,
    exact,
    get_date,
    get_obj,
    get_opt_date,
    get_str,
    load_json,
)
from exportcontrol.catalogue import VALID_BIT_LENGTHS, Chip, lookup

__all__ = [
    "DEFAULT_RULE",
    "H100_TPP",
    "RULES",
    "Rule",
    "Verdict",
    "classify",
    "classify_all",
    "classify_specs",
    "performance_density",
    "tpp",
]

#: TPP of one H100 SXM as used by the reference and third-party trackers ("1 H100-equivalent").
H100_TPP: Final = 15_830
DEFAULT_RULE: Final = "2023-10"

_KIND_KEYS: Final[Mapping[str, frozenset[str]]] = {
    "tpp_and_io": frozenset({"tpp_min", "io_bandwidth_gbps_min"}),
    "tpp_and_pd": frozenset(
        {
            "a1_tpp_min",
            "a2_tpp_min",
            "a2_pd_min",
            "b1_tpp_min",
            "b1_tpp_below",
            "b1_pd_min",
            "b1_pd_below",
            "b2_tpp_min",
            "b2_pd_min",
            "b2_pd_below",
            "non_datacenter_tpp_min",
        }
    ),
}
_NAC_ACA: Final = "NAC/ACA"


@dataclass(frozen=True)
class Rule:
    """One 3A090 rule vintage, as recorded in ``data/rules.json``."""

    rule_id: str
    kind: str  # "tpp_and_io" (Oct 2022 structure) or "tpp_and_pd" (Oct 2023 structure)
    label: str  # short name used in explanations, e.g. "Oct 2023 AC/S IFR"
    title: str
    fr_citation: str  # e.g. "88 FR 73458"
    fr_document: str  # Federal Register document number
    published: date
    released: date
    effective_from: date
    effective_to: date | None
    status: str
    source: str
    thresholds: Mapping[str, float]


@dataclass(frozen=True)
class Verdict:
    """Outcome of classifying one chip under one rule vintage.

    ``eccn`` is ``"3A090.a"``, ``"3A090.b"`` or ``None``; ``prong`` is ``"a.1"``, ``"a.2"``,
    ``"b.1"``, ``"b.2"``, ``"non-datacenter-4800"`` (Oct 2023 rule) or ``"a-2022"`` (Oct 2022
    rule), else ``None``. When ``determinate`` is false a missing figure (die area, I/O
    bandwidth) decides the outcome: ``eccn`` is ``None`` and ``reason`` says what is missing.
    """

    rule: str
    subject: str
    eccn: str | None
    prong: str | None
    tpp: int  # rounded half up
    pd: float | None  # None when the applicable die area is unknown
    h100_equivalents: float  # TPP / 15,830
    reason: str
    determinate: bool = True
    licence_exception: str | None = None  # "NAC/ACA" where the rule makes the item eligible

    @property
    def controlled(self) -> bool | None:
        """True/False for a determinate verdict, None when it is indeterminate."""
        return (self.eccn is not None) if self.determinate else None


# --------------------------------------------------------------------------------------------
# Rule data


def _parse_rule(rule_id: str, raw: object) -> Rule:
    where = f"rules.json {rule_id!r}"
    if not isinstance(raw, dict):
        raise DataError(f"{where}: must be an object")
    kind = get_str(raw, "kind", where)
    if kind not in _KIND_KEYS:
        raise DataError(f"{where}: unknown kind {kind!r}")
    raw_thresholds = get_obj(raw, "thresholds", where)
    if set(raw_thresholds) != _KIND_KEYS[kind]:
        raise DataError(f"{where}: thresholds must be exactly {sorted(_KIND_KEYS[kind])}")
    thresholds: dict[str, float] = {}
    for key, value in raw_thresholds.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise DataError(f"{where}: threshold {key!r} must be a positive number")
        thresholds[key] = value
    return Rule(
        rule_id=rule_id,
        kind=kind,
        label=get_str(raw, "label", where),
        title=get_str(raw, "title", where),
        fr_citation=get_str(raw, "fr_citation", where),
        fr_document=get_str(raw, "fr_document", where),
        published=get_date(raw, "published", where),
        released=get_date(raw, "released", where),
        effective_from=get_date(raw, "effective_from", where),
        effective_to=get_opt_date(raw, "effective_to", where),
        status=get_str(raw, "status", where),
        source=get_str(raw, "source", where),
        thresholds=MappingProxyType(thresholds),
    )


def _load_rules() -> Mapping[str, Rule]:
    raw = get_obj(load_json("rules.json"), "rules", "rules.json")
    rules = sorted(
        (_parse_rule(rule_id, item) for rule_id, item in raw.items()),
        key=lambda r: r.effective_from,
    )
    if DEFAULT_RULE not in {r.rule_id for r in rules}:
        raise DataError(f"rules.json: the default rule {DEFAULT_RULE!r} is missing")
    return MappingProxyType({r.rule_id: r for r in rules})


#: Rule id -> :class:`Rule`, oldest first.
RULES: Final[Mapping[str, Rule]] = _load_rules()


def _rule(rule_id: str) -> Rule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise ValueError(f"unknown rule {rule_id!r}; known rules: {', '.join(RULES)}") from None


# --------------------------------------------------------------------------------------------
# Input validation and exact metrics


@dataclass(frozen=True)
class _Specs:
    subject: str
    rates: Mapping[int, Fraction]
    formats: Mapping[int, str]
    die_area: Fraction | None
    datacenter: bool
    io_bandwidth: Fraction | None
    uncertain: bool = False


def _positive(value: object, what: str) -> Fraction:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
    return exact(value)


def _validate_rates(dense_rates: Mapping[int, float]) -> dict[int, Fraction]:
    if not isinstance(dense_rates, Mapping):
        raise ValueError("dense_rates must be a mapping {bit_length: dense TOPS/TFLOPS}")
    if not dense_rates:
        raise ValueError("dense_rates is empty: give the dense rate for at least one bit length")
    rates: dict[int, Fraction] = {}
    for bits, rate in dense_rates.items():
        if isinstance(bits, bool) or not isinstance(bits, int) or bits not in VALID_BIT_LENGTHS:
            allowed = ", ".join(str(b) for b in sorted(VALID_BIT_LENGTHS))
            raise ValueError(f"bit length {bits!r} is not one of {allowed}")
        rates[bits] = _positive(rate, f"dense rate at {bits} bits (TOPS/TFLOPS)")
    return rates


def _optional_positive(value: float | None, what: str) -> Fraction | None:
    return None if value is None else _positive(value, what)


def _specs_of_chip(chip: Chip) -> _Specs:
    return _Specs(
        subject=chip.name,
        rates={r.bits: exact(r.rate) for r in chip.dense_rates},
        formats={r.bits: r.formats for r in chip.dense_rates},
        die_area=None if chip.die_area_mm2 is None else exact(chip.die_area_mm2),
        datacenter=chip.datacenter,
        io_bandwidth=None if chip.io_bandwidth_gbps is None else exact(chip.io_bandwidth_gbps),
        uncertain=chip.uncertain,
    )


def _best(rates: Mapping[int, Fraction]) -> tuple[Fraction, int]:
    """(TPP, bit length that gives it); ties go to the longer bit length."""
    return max((rate * bits, bits) for bits, rate in rates.items())


def _rates_of(chip_or_specs: Chip | Mapping[int, float]) -> Mapping[int, Fraction]:
    if isinstance(chip_or_specs, Chip):
        return _specs_of_chip(chip_or_specs).rates
    return _validate_rates(chip_or_specs)


def tpp(chip_or_specs: Chip | Mapping[int, float]) -> float:
    """Total processing performance: max over precisions of dense rate x bit length.

    Accepts a catalogued :class:`Chip` or a mapping ``{bit_length: dense TOPS/TFLOPS}``
    (validated as in :func:`classify_specs`).
    """
    return float(_best(_rates_of(chip_or_specs))[0])


def performance_density(
    chip_or_specs: Chip | Mapping[int, float], die_area_mm2: float | None = None
) -> float | None:
    """TPP / applicable die area (mm²); None when the area is unknown.

    For a :class:`Chip` the catalogued area is used unless ``die_area_mm2`` overrides it.
    """
    if die_area_mm2 is None and isinstance(chip_or_specs, Chip):
        area = None if chip_or_specs.die_area_mm2 is None else exact(chip_or_specs.die_area_mm2)
    else:
        area = _optional_positive(die_area_mm2, "die_area_mm2")
    total = _best(_rates_of(chip_or_specs))[0]
    return None if area is None else float(total / area)


# --------------------------------------------------------------------------------------------
# Number formatting for explanations


def _num(value: Fraction, places: int) -> str:
    if value.denominator == 1:
        return f"{value.numerator:,}"
    text = f"{float(value):,.{places}f}".rstrip("0").rstrip(".")
    return text


def _shown(value: Fraction, places: int, critical: Iterable[Fraction] = ()) -> str:
    """Format ``value``; add decimals if rounding would make it look equal to a threshold."""
    marks = [c for c in critical if c != value]
    text = _num(value, places)
    while places < 12 and any(exact(float(text.replace(",", ""))) == c for c in marks):
        places += 1
        text = _num(value, places)
    return text


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


# --------------------------------------------------------------------------------------------
# Classification


def _verdict(
    rule: Rule,
    specs: _Specs,
    total: Fraction,
    density: Fraction | None,
    reason: str,
    *,
    eccn: str | None = None,
    prong: str | None = None,
    determinate: bool = True,
    licence_exception: str | None = None,
) -> Verdict:
    if specs.uncertain:
        reason += " The catalogue marks this chip's figures as uncertain (see its source note)."
    return Verdict(
        rule=rule.rule_id,
        subject=specs.subject,
        eccn=eccn,
        prong=prong,
        tpp=_round_half_up(total),
        pd=None if density is None else float(density),
        h100_equivalents=float(total / H100_TPP),
        reason=reason,
        determinate=determinate,
        licence_exception=licence_exception,
    )


def _head(rule: Rule, specs: _Specs) -> str:
    when = f"effective {rule.effective_from.isoformat()}"
    return f"{specs.subject} under the {rule.label} ({rule.fr_citation}, {when})"


def _classify_2022(rule: Rule, specs: _Specs, total: Fraction, density: Fraction | None) -> Verdict:
    t = {k: exact(v) for k, v in rule.thresholds.items()}
    tpp_min, io_min = t["tpp_min"], t["io_bandwidth_gbps_min"]
    tpp_text = _shown(total, 1, [tpp_min])
    head = _head(rule, specs)
    if total < tpp_min:
        reason = (
            f"{head}: not 3A090 - TPP {tpp_text} is below {_num(tpp_min, 1)}, so the I/O "
            "bandwidth condition does not matter."
        )
        return _verdict(rule, specs, total, density, reason)
    if specs.io_bandwidth is None:
        reason = (
            f"{head}: indeterminate - TPP {tpp_text} is at or above {_num(tpp_min, 1)}, but the "
            f"aggregate bidirectional I/O bandwidth is unknown, so the {_num(io_min, 1)} GB/s "
            "condition cannot be checked."
        )
        return _verdict(rule, specs, total, density, reason, determinate=False)
    io_text = _shown(specs.io_bandwidth, 1, [io_min])
    if specs.io_bandwidth >= io_min:
        reason = (
            f"{head}: 3A090.a - TPP {tpp_text} is at or above {_num(tpp_min, 1)} and aggregate "
            f"bidirectional I/O {io_text} GB/s is at or above {_num(io_min, 1)} GB/s."
        )
        return _verdict(rule, specs, total, density, reason, eccn="3A090.a", prong="a-2022")
    reason = (
        f"{head}: not 3A090 - TPP {tpp_text} is at or above {_num(tpp_min, 1)}, but aggregate "
        f"bidirectional I/O {io_text} GB/s is below {_num(io_min, 1)} GB/s."
    )
    return _verdict(rule, specs, total, density, reason)


def _classify_2023(rule: Rule, specs: _Specs, total: Fraction, density: Fraction | None) -> Verdict:
    t = {k: exact(v) for k, v in rule.thresholds.items()}
    tpp_marks = [t[k] for k in t if "tpp" in k]
    pd_marks = [t[k] for k in t if "pd" in k]
    tpp_text = _shown(total, 1, tpp_marks)
    pd_text = None if density is None else _shown(density, 2, pd_marks)
    best_bits = _best(specs.rates)[1]
    fmt = specs.formats.get(best_bits, f"{best_bits}-bit")
    origin = f"{fmt} dense rate {_num(specs.rates[best_bits], 4)} x {best_bits} bits"
    head = _head(rule, specs)

    def n(key: str) -> str:
        return _num(t[key], 2)

    if not specs.datacenter:
        if total >= t["non_datacenter_tpp_min"]:
            reason = (
                f"{head}: 3A090.a via Note 2 to 3A090 - not designed or marketed for datacenters, "
                f"but TPP {tpp_text} ({origin}) is at or above {n('non_datacenter_tpp_min')}; "
                "eligible for License Exception NAC/ACA."
            )
            return _verdict(
                rule,
                specs,
                total,
                density,
                reason,
                eccn="3A090.a",
                prong="non-datacenter-4800",
                licence_exception=_NAC_ACA,
            )
        reason = (
            f"{head}: not 3A090 - not designed or marketed for datacenters and TPP {tpp_text} is "
            f"below {n('non_datacenter_tpp_min')} (Note 2 to 3A090), so the performance-density "
            "prongs do not apply."
        )
        return _verdict(rule, specs, total, density, reason)

    if total >= t["a1_tpp_min"]:
        pd_note = "" if pd_text is None else f"; performance density {pd_text}"
        reason = (
            f"{head}: 3A090.a.1 - TPP {tpp_text} ({origin}) is at or above {n('a1_tpp_min')}"
            f"{pd_note}."
        )
        return _verdict(rule, specs, total, density, reason, eccn="3A090.a", prong="a.1")

    floor = min(t["a2_tpp_min"], t["b1_tpp_min"], t["b2_tpp_min"])
    if total < floor:
        reason = (
            f"{head}: not 3A090 - TPP {tpp_text} is below {_num(floor, 2)}, the lowest TPP of any "
            "3A090.a or .b prong."
        )
        return _verdict(rule, specs, total, density, reason)

    if density is None or pd_text is None or specs.die_area is None:
        reason = (
            f"{head}: indeterminate - TPP {tpp_text} is below {n('a1_tpp_min')} but at least "
            f"{_num(floor, 2)}, so prongs a.2, b.1 and b.2 turn on performance density, and the "
            "applicable die area is unknown."
        )
        return _verdict(rule, specs, total, density, reason, determinate=False)

    if total >= t["a2_tpp_min"] and density >= t["a2_pd_min"]:
        reason = (
            f"{head}: 3A090.a.2 - TPP {tpp_text} is below {n('a1_tpp_min')} but at least "
            f"{n('a2_tpp_min')}, and performance density {pd_text} "
            f"(TPP / {_num(specs.die_area, 2)} mm²) is at or above {n('a2_pd_min')}."
        )
        return _verdict(rule, specs, total, density, reason, eccn="3A090.a", prong="a.2")

    b1_tpp = t["b1_tpp_min"] <= total < t["b1_tpp_below"]
    b1_pd = t["b1_pd_min"] <= density < t["b1_pd_below"]
    if b1_tpp and b1_pd:
        reason = (
            f"{head}: 3A090.b.1 - TPP {tpp_text} is in [{n('b1_tpp_min')}, {n('b1_tpp_below')}) "
            f"and performance density {pd_text} is in [{n('b1_pd_min')}, {n('b1_pd_below')}); "
            "eligible for License Exception NAC/ACA."
        )
        return _verdict(
            rule,
            specs,
            total,
            density,
            reason,
            eccn="3A090.b",
            prong="b.1",
            licence_exception=_NAC_ACA,
        )

    b2_tpp = total >= t["b2_tpp_min"]
    b2_pd = t["b2_pd_min"] <= density < t["b2_pd_below"]
    if b2_tpp and b2_pd:
        reason = (
            f"{head}: 3A090.b.2 - TPP {tpp_text} is at least {n('b2_tpp_min')} and performance "
            f"density {pd_text} is in [{n('b2_pd_min')}, {n('b2_pd_below')}); eligible for "
            "License Exception NAC/ACA."
        )
        return _verdict(
            rule,
            specs,
            total,
            density,
            reason,
            eccn="3A090.b",
            prong="b.2",
            licence_exception=_NAC_ACA,
        )

    misses = [
        f"a.1 needs TPP >= {n('a1_tpp_min')}",
        (
            f"a.2 needs TPP >= {n('a2_tpp_min')}"
            if total < t["a2_tpp_min"]
            else f"a.2 needs PD >= {n('a2_pd_min')}"
        ),
        (
            f"b.1 needs TPP in [{n('b1_tpp_min')}, {n('b1_tpp_below')})"
            if not b1_tpp
            else f"b.1 needs PD in [{n('b1_pd_min')}, {n('b1_pd_below')})"
        ),
        (
            f"b.2 needs TPP >= {n('b2_tpp_min')}"
            if not b2_tpp
            else f"b.2 needs PD in [{n('b2_pd_min')}, {n('b2_pd_below')})"
        ),
    ]
    reason = (
        f"{head}: not 3A090 - TPP {tpp_text} with performance density {pd_text} meets no prong "
        f"({'; '.join(misses)})."
    )
    return _verdict(rule, specs, total, density, reason)


def _classify(specs: _Specs, rule_id: str) -> Verdict:
    rule = _rule(rule_id)
    total = _best(specs.rates)[0]
    density = None if specs.die_area is None else total / specs.die_area
    if rule.kind == "tpp_and_io":
        return _classify_2022(rule, specs, total, density)
    return _classify_2023(rule, specs, total, density)


def classify(chip: Chip | str, rule: str = DEFAULT_RULE) -> Verdict:
    """Classify a catalogued chip (or a catalogue name/alias) under one rule vintage.

    Raises ``ValueError`` for an unknown chip name or rule id.
    """
    if isinstance(chip, str):
        found = lookup(chip)
        if found is None:
            raise ValueError(
                f"unknown accelerator {chip!r}; use classify_specs() for chips not in the catalogue"
            )
        chip = found
    return _classify(_specs_of_chip(chip), rule)


def classify_all(chip: Chip | str) -> dict[str, Verdict]:
    """Verdicts under every rule vintage in :data:`RULES`, oldest first."""
    return {rule_id: classify(chip, rule_id) for rule_id in RULES}


def classify_specs(
    dense_rates: Mapping[int, float],
    die_area_mm2: float | None,
    datacenter: bool,
    *,
    io_bandwidth_gbps: float | None = None,
    rule: str = DEFAULT_RULE,
) -> Verdict:
    """Classify a chip entered by an analyst.

    ``dense_rates`` maps operand bit length (4, 8, 16, 32 or 64) to the *dense* (non-sparse)
    rate in TOPS/TFLOPS; ``die_area_mm2`` is the applicable logic die area or None if unknown.
    Raises ``ValueError`` with a message naming the bad input.
    """
    if not isinstance(datacenter, bool):
        raise ValueError(f"datacenter must be True or False, got {datacenter!r}")
    specs = _Specs(
        subject="The entered chip",
        rates=_validate_rates(dense_rates),
        formats={},
        die_area=_optional_positive(die_area_mm2, "die_area_mm2"),
        datacenter=datacenter,
        io_bandwidth=_optional_positive(io_bandwidth_gbps, "io_bandwidth_gbps"),
    )
    return _classify(specs, rule)
