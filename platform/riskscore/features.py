"""Cases (lists of report dicts) to a feature matrix, and the default hand-set scoring config.

Conventions that keep the score honest:

* Every feature is 0 when there is no risk signal and grows with risk (range [0, 1]), so with
  non-negative weights more evidence never lowers a score (monotonicity).
* MISSING (the data needed is absent: no route on a chip-diversion report, no screening list
  loaded, an accelerator model the catalogue does not know, no dates) is NaN in ``X`` and True
  in ``missing``; the engine imputes the feature's neutral prior (> 0) and the explanation says
  "missing". NOT APPLICABLE (a training-compute feature on a chip-diversion case) is 0.
* Reports: copies of one report id count once (highest version); withdrawn reports are ignored;
  corroboration and red flags count independent ORIGIN nodes, never relaying nodes.
* Report quality (Admiralty, reference 3.1/4.1): reliability A-F -> 0.95/0.80/0.60/0.40/0.20,
  F -> 0.50 (cannot be judged = neutral); credibility 1-6 -> 0.9/0.7/0.5/0.3/0.1, 6 -> 0.5;
  quality = rel x cred / (0.95 x 0.9) so that A1 = 1.

Weights are design priors in log-odds (reference 3.7 where it has one, otherwise stated as a
design choice); they were written down before, and are not fitted on, the synthetic benchmark.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from numpy.typing import NDArray

from riskscore import domain
from riskscore.engine import ScoringConfig
from riskscore.grouping import collapse_copies
from riskscore.matching import ScreeningIndex, address_key, name_key

__all__ = [
    "DEFAULT_CONFIG",
    "FEATURES",
    "FEATURE_NAMES",
    "RED_FLAGS",
    "FeatureMatrix",
    "FeatureSpec",
    "build_features",
    "report_quality",
]

RED_FLAGS = (
    "freight_forwarder_consignee",
    "residential_address",
    "third_country_payment",
    "refused_installation",
    "new_company",
    "evasive_end_use",
    "cash_payment",
    "unusual_routing",
    "mismatched_end_use",
    "reluctant_information",
)


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    weight: float
    neutral: float
    description: str  # meaning; range; where the weight idea comes from


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "controlled_item",
        1.5,
        0.5,
        "max over items: 1 if 3A090.a (catalogue verdict or reported ECCN), 0.6 if .b, "
        "else 0; [0,1]; ref 3.7 #5 (1.5)",
    ),
    FeatureSpec(
        "log_total_tpp",
        0.4,
        0.35,
        "log10(1 + sum quantity x TPP of the largest report) / 10; [0,1]; magnitude, "
        "ref 1.6 (design share of #6)",
    ),
    FeatureSpec(
        "h100e_log",
        0.8,
        0.3,
        "log10(1 + H100-equivalents of the largest report) / 5 (1e5 H100e = 1); [0,1]; "
        "ref 3.7 #6 magnitude (1.0, shared)",
    ),
    FeatureSpec(
        "prc_accelerator",
        1.0,
        0.0,
        "deals in a PRC-made 3A090-class accelerator (Ascend 910B/C/D); {0,1}; ref 3.7 "
        "#18 GP10 (1.0)",
    ),
    FeatureSpec(
        "destination_risk",
        1.2,
        0.3,
        "max destination risk of suspected/declared end user and final route country; "
        "[0,1]; ref 3.7 #7 (1.2)",
    ),
    FeatureSpec(
        "max_transit_risk",
        0.6,
        0.3,
        "max transit risk of intermediate route, intermediary and consignee countries; "
        "[0,1]; design prior",
    ),
    FeatureSpec(
        "transshipment_hub",
        0.4,
        0.0,
        "a known AI-chip transshipment hub (SG, MY, TH, AE, HK) on the route; {0,1}; "
        "ref 1.7 (design)",
    ),
    FeatureSpec(
        "end_user_mismatch",
        1.2,
        0.0,
        "suspected end user differs from declared: 1 other country, 0.6 same country, "
        "0.8 none declared; [0,1]; KYC ref 3.6a",
    ),
    FeatureSpec(
        "route_hops",
        0.3,
        0.2,
        "(distinct route countries - 2) / 3; [0,1]; unusual routing, KYC ref 3.6a (design)",
    ),
    FeatureSpec(
        "screening_match",
        2.5,
        0.05,
        "best party-name cosine vs the screening list, (cos - 0.6) / 0.4; [0,1]; ref 3.7 #2 (2.5)",
    ),
    FeatureSpec(
        "screening_exact",
        1.5,
        0.01,
        "a party name matches a listed name or alias at cosine >= 0.97; {0,1}; ref 3.7 "
        "#1 (4.0 with #2)",
    ),
    FeatureSpec(
        "listed_address_link",
        1.2,
        0.05,
        "best address match to a listed address x rarity 1/sqrt(orgs at that address); "
        "[0,1]; ref 3.7 #4/#19",
    ),
    FeatureSpec(
        "listed_officer_link",
        2.0,
        0.02,
        "an officer/shareholder matches a listed name (cosine, >= 0.85); [0,1]; ref 3.7 "
        "#3 Affiliates rule (2.0)",
    ),
    FeatureSpec(
        "mass_registration_address",
        0.3,
        0.1,
        "1 - 1/sqrt(orgs sharing the party address in the batch); [0,1); FATF-Egmont "
        "formation agents (design)",
    ),
    FeatureSpec(
        "shell_intermediary",
        0.8,
        0.0,
        "an intermediary with role shell (1) or reseller (0.5); [0,1]; FATF-Egmont, BIS "
        "May 2025 (design)",
    ),
    FeatureSpec(
        "intermediary_count",
        0.3,
        0.0,
        "min(distinct intermediaries, 4) / 4; [0,1]; layering (design)",
    ),
    FeatureSpec(
        "rf_freight_forwarder_consignee",
        1.0,
        0.0,
        "red flag, noisy-OR over origins of 0.5 + 0.5 x quality; [0,1]; ref 3.7 #12 (1.0)",
    ),
    FeatureSpec(
        "rf_residential_address",
        1.0,
        0.0,
        "red flag (as above); [0,1]; ref 3.7 #10 (1.0)",
    ),
    FeatureSpec(
        "rf_third_country_payment",
        0.8,
        0.0,
        "red flag (as above); [0,1]; ref 3.7 #14 (0.8)",
    ),
    FeatureSpec(
        "rf_refused_installation",
        0.9,
        0.0,
        "red flag (as above); [0,1]; ref 3.7 #15 (0.9)",
    ),
    FeatureSpec(
        "rf_new_company",
        0.8,
        0.0,
        "red flag (as above); [0,1]; ref 3.7 #9 (0.8)",
    ),
    FeatureSpec(
        "rf_evasive_end_use",
        0.9,
        0.0,
        "red flag (as above); [0,1]; ref 3.7 #16 (0.9)",
    ),
    FeatureSpec(
        "rf_cash_payment",
        0.8,
        0.0,
        "red flag (as above); [0,1]; ref 3.7 #14 (0.8)",
    ),
    FeatureSpec(
        "rf_unusual_routing",
        0.6,
        0.0,
        "red flag (as above); [0,1]; ref 3.7 #12 routing (design 0.6)",
    ),
    FeatureSpec(
        "rf_mismatched_end_use",
        0.9,
        0.0,
        "red flag (as above); [0,1]; KYC ref 3.6a (design 0.9)",
    ),
    FeatureSpec(
        "rf_reluctant_information",
        0.7,
        0.0,
        "red flag (as above); [0,1]; KYC ref 3.6a (design 0.7)",
    ),
    FeatureSpec(
        "red_flag_count",
        0.5,
        0.0,
        "distinct red flags / 10; [0,1]; several flags together (design)",
    ),
    FeatureSpec(
        "source_quality",
        0.6,
        0.29,
        "best Admiralty quality rel x cred / A1 over the reports; [0,1]; ref 3.1/4.1 (design)",
    ),
    FeatureSpec(
        "corroboration",
        0.8,
        0.0,
        "1 - 1/(independent origin nodes); relays excluded; [0,1); ref 3.3 (design)",
    ),
    FeatureSpec(
        "recency",
        0.5,
        0.5,
        "2^(-age/half-life) of the latest event or report date; [0,1]; ref 3.4 (design)",
    ),
    FeatureSpec(
        "training_compute_1e25",
        0.8,
        0.5,
        "military AI: log10(FLOP) - 24 clipped (1 at 1e25, EU AI Act Art. 51); [0,1]; ref 1.5",
    ),
    FeatureSpec(
        "training_compute_1e26",
        0.6,
        0.3,
        "military AI: log10(FLOP) - 25 clipped (1 at 1e26, former US 4E091); [0,1]; ref 1.5",
    ),
    FeatureSpec(
        "military_capability",
        0.8,
        0.0,
        "capability text names targeting/autonomy/C2/ISR/cyber/unmanned; {0,1}; ref 3.7 "
        "(BIS concerns)",
    ),
    FeatureSpec(
        "cloud_gpu_hours",
        0.5,
        0.3,
        "cloud compute: log10(1 + GPU-hours) / 7; [0,1]; ref 3.7 #17 IaaS (design)",
    ),
    FeatureSpec(
        "value_anomaly",
        0.5,
        0.2,
        "|log10(declared value / (H100e x 25k USD))| per report, max, clipped; high-end "
        "chips only; [0,1]; ref 3.7 #21 (0.5)",
    ),
    FeatureSpec(
        "missing_fields",
        0.4,
        0.0,
        "share of the category's key fields absent from every report; [0,1]; KYC "
        "reluctance (design)",
    ),
    FeatureSpec(
        "relayed_copies",
        0.0,
        0.0,
        "log2(1 + relaying nodes) / 3; [0,1]; weight 0 ON PURPOSE: a relay is not "
        "corroboration (ref 3.3)",
    ),
)

FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURES)

DEFAULT_CONFIG = ScoringConfig(
    version="2026-11-default",
    feature_names=FEATURE_NAMES,
    weights=tuple(spec.weight for spec in FEATURES),
    # a case with no signal at all scores 100 * sigmoid(-5) = 0.67; the prior base rate of
    # diversion among reported cases is assumed to be a few percent (reference 4.5)
    bias=-5.0,
    neutral=tuple(spec.neutral for spec in FEATURES),
    half_life_days=180.0,
    descriptions=tuple(spec.description for spec in FEATURES),
)

_RELIABILITY = {"A": 0.95, "B": 0.80, "C": 0.60, "D": 0.40, "E": 0.20, "F": 0.50}
_CREDIBILITY = {1: 0.9, 2: 0.7, 3: 0.5, 4: 0.3, 5: 0.1, 6: 0.5}
_A1 = 0.95 * 0.9
_MILITARY = re.compile(
    r"target|autonom|command and control|\bc2\b|c4isr|\bisr\b|battlefield|weapon|missile|"
    r"drone|unmanned|swarm|cyber|surveillance|situational awareness|electronic warfare",
    re.IGNORECASE,
)
_KEY_FIELDS = {
    "chip_diversion": (
        "consignee",
        "declared_end_user",
        "route",
        "value_usd",
        "shipment_ref",
        "eccn",
        "serials",
    ),
    "military_ai": ("organisation", "training_compute_flop", "chips_used"),
    "cloud_compute": ("customer", "customer_address", "gpu_hours", "chips"),
}
_PRICE_PER_H100E_USD = 25_000.0  # order of magnitude only; anomaly = a factor >= 10 (value 1)


@dataclass(frozen=True)
class FeatureMatrix:
    X: NDArray[np.float64]  # (cases, features), NaN where missing
    missing: NDArray[np.bool_]
    feature_names: tuple[str, ...]
    case_ids: tuple[str, ...]

    def column(self, name: str) -> NDArray[np.float64]:
        return self.X[:, self.feature_names.index(name)]


def report_quality(report: Mapping[str, Any]) -> float:
    """Admiralty quality in [0, 1] (A1 = 1); unknown grades count as F / 6 (neutral)."""
    rel = _RELIABILITY.get(str(report.get("source_reliability") or "F").upper(), 0.5)
    cred_raw = report.get("info_credibility")
    cred = _CREDIBILITY.get(cred_raw if isinstance(cred_raw, int) else 6, 0.5)
    return rel * cred / _A1


def _details(report: Mapping[str, Any]) -> Mapping[str, Any]:
    details = report.get("details")
    return details if isinstance(details, Mapping) else {}


def _party(details: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    party = details.get(key)
    return party if isinstance(party, Mapping) else None


def _name(party: Mapping[str, Any] | None) -> str | None:
    if party is None:
        return None
    name = party.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def _country(party: Mapping[str, Any] | None) -> str | None:
    if party is None:
        return None
    code = party.get("country")
    return code.strip().upper() if isinstance(code, str) and code.strip() else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flop(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None
    return number if number > 0 and math.isfinite(number) else None


def _items(report: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """(model, quantity) of every accelerator the report mentions, any category."""
    details = _details(report)
    out: list[tuple[str, int | None]] = []
    for key in ("items", "chips_used", "chips"):
        for item in details.get(key) or ():
            if not isinstance(item, Mapping):
                continue
            model = item.get("model")
            if not isinstance(model, str) or not model.strip():
                continue
            qty = item.get("quantity")
            out.append((model, qty if isinstance(qty, int) and qty > 0 else None))
    return out


def _noisy_or(values: Iterable[float]) -> float:
    survive = 1.0
    for v in values:
        survive *= 1.0 - min(max(v, 0.0), 1.0)
    return 1.0 - survive


@dataclass
class _CaseParts:
    """What one case contributes to the batch-level look-ups (screening, addresses)."""

    reports: list[Mapping[str, Any]]
    relays: int
    party_names: list[str]
    person_names: list[str]
    addresses: list[tuple[str, str | None, frozenset[str]]]  # text, country, owner name keys


def _case_parts(case: Sequence[Mapping[str, Any]]) -> _CaseParts:
    kept, relays, _withdrawn = collapse_copies(case)
    party_names: list[str] = []
    person_names: list[str] = []
    addresses: list[tuple[str, str | None, frozenset[str]]] = []
    for report in kept:
        details = _details(report)
        entities = [e for e in report.get("entities") or () if isinstance(e, Mapping)]
        org_keys: set[str] = set()
        for key in ("consignee", "declared_end_user", "suspected_end_user", "organisation",
                    "customer", "provider"):  # fmt: skip
            party = _party(details, key)
            name = _name(party)
            if name:
                party_names.append(name)
                org_keys.add(name_key(name))
                address = party.get("address") if party else None
                if isinstance(address, str) and address.strip():
                    addresses.append((address, _country(party), frozenset({name_key(name)})))
        for inter in details.get("intermediaries") or ():
            if isinstance(inter, Mapping) and _name(inter):
                name = _name(inter) or ""
                party_names.append(name)
                address = inter.get("address")
                if isinstance(address, str) and address.strip():
                    addresses.append((address, _country(inter), frozenset({name_key(name)})))
        for entity in entities:
            name = entity.get("name")
            if not isinstance(name, str) or not name.strip():
                continue
            if entity.get("kind") == "organisation":
                party_names.append(name)
                org_keys.add(name_key(name))
            elif entity.get("kind") == "person" and entity.get("role") in (
                "officer",
                "shareholder",
            ):
                person_names.append(name)
        for entity in entities:  # addresses belong to the report's organisations
            name = entity.get("name")
            if entity.get("kind") == "address" and isinstance(name, str) and name.strip():
                addresses.append((name, _country(entity), frozenset(org_keys)))
    return _CaseParts(
        reports=kept,
        relays=len({node for nodes in relays.values() for node in nodes}),
        party_names=list(dict.fromkeys(party_names)),
        person_names=list(dict.fromkeys(person_names)),
        addresses=addresses,
    )


def build_features(
    cases: Sequence[Sequence[Mapping[str, Any]]],
    screening: ScreeningIndex | None = None,
    now: datetime | None = None,
    config: ScoringConfig = DEFAULT_CONFIG,
    case_ids: Sequence[str] | None = None,
) -> FeatureMatrix:
    """Feature matrix (columns in ``config.feature_names`` order) for ``cases``."""
    unknown = [n for n in config.feature_names if n not in FEATURE_NAMES]
    if unknown:
        raise KeyError(f"config names features this builder does not know: {unknown}")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    parts = [_case_parts(case) for case in cases]
    n = len(parts)
    values = np.full((n, len(FEATURE_NAMES)), np.nan, dtype=np.float64)
    col = {name: j for j, name in enumerate(FEATURE_NAMES)}

    screen = _screening_lookups(parts, screening)
    address_df = _address_df(parts)
    for i, case in enumerate(parts):
        row = _case_features(case, screen[i], address_df, now, config.half_life_days)
        for name, value in row.items():
            values[i, col[name]] = np.nan if value is None else value

    order = [col[name] for name in config.feature_names]
    X = np.ascontiguousarray(values[:, order])
    ids = (
        tuple(case_ids)
        if case_ids is not None
        else tuple(",".join(str(r.get("id")) for r in p.reports) for p in parts)
    )
    if len(ids) != n:
        raise ValueError(f"{len(ids)} case ids for {n} cases")
    return FeatureMatrix(X=X, missing=np.isnan(X), feature_names=config.feature_names, case_ids=ids)


@dataclass(frozen=True)
class _Screen:
    available: bool
    best_name: float = 0.0
    best_officer: float = 0.0
    address_hits: tuple[tuple[str, str | None, float], ...] = ()  # text, country, cosine


def _screening_lookups(parts: Sequence[_CaseParts], index: ScreeningIndex | None) -> list[_Screen]:
    """One batched name / address matching call for the whole batch of cases."""
    if index is None or len(index) == 0:
        return [_Screen(available=False) for _ in parts]
    names = sorted({n for p in parts for n in p.party_names})
    persons = sorted({n for p in parts for n in p.person_names})
    addr = sorted(
        {(t, c) for p in parts for t, c, _ in p.addresses}, key=lambda a: (a[0], a[1] or "")
    )
    name_score = dict(zip(names, index.match_names(names).scores.tolist(), strict=True))
    person_score = dict(zip(persons, index.match_names(persons).scores.tolist(), strict=True))
    addr_result = index.match_addresses([t for t, _ in addr], [c for _, c in addr])
    addr_score = dict(zip(addr, addr_result.scores.tolist(), strict=True))
    out: list[_Screen] = []
    for p in parts:
        out.append(
            _Screen(
                available=True,
                best_name=max((name_score[n] for n in p.party_names), default=0.0),
                best_officer=max((person_score[n] for n in p.person_names), default=0.0),
                address_hits=tuple((t, c, addr_score[(t, c)]) for t, c, _ in p.addresses),
            )
        )
    return out


def _address_df(parts: Sequence[_CaseParts]) -> dict[str, int]:
    """Distinct organisations registered at each (normalised) address across the batch."""
    owners: dict[str, set[str]] = {}
    for p in parts:
        for text, country, org_keys in p.addresses:
            owners.setdefault(address_key(text, country), set()).update(org_keys or {text})
    return {key: max(1, len(orgs)) for key, orgs in owners.items()}


def _case_features(
    case: _CaseParts,
    screen: _Screen,
    address_df: Mapping[str, int],
    now: datetime,
    half_life_days: float,
) -> dict[str, float | None]:
    reports = case.reports
    f: dict[str, float | None] = dict.fromkeys(FEATURE_NAMES, 0.0)
    categories = {str(r.get("category") or "other") for r in reports}

    # --- items: classification and magnitude -------------------------------------------
    # Reports of one case usually describe the same shipment: magnitudes are per report and
    # the case takes the largest, so corroborating reports do not double the quantity.
    items = [item for r in reports for item in _items(r)]
    reported_eccn = [str(_details(r).get("eccn") or "") for r in reports if _details(r).get("eccn")]
    controlled: float | None = None
    magnitude_known = False
    total_tpp = 0.0
    total_h100e = 0.0
    anomalies: list[float] = []
    for r in reports:
        report_tpp = 0.0
        report_h100e = 0.0
        report_known = False
        high_end_only = True
        for model, qty in _items(r):
            facts = domain.chip_facts(model)
            if domain.is_prc_accelerator(model):
                f["prc_accelerator"] = 1.0
            if facts is None:
                high_end_only = False
                continue
            level = 1.0 if facts.eccn == "3A090.a" else 0.6 if facts.eccn == "3A090.b" else 0.0
            controlled = level if controlled is None else max(controlled, level)
            if qty is None:
                high_end_only = False
                continue
            report_known = True
            report_tpp += qty * facts.tpp
            report_h100e += qty * facts.h100_equivalents
            high_end_only = high_end_only and facts.h100_equivalents >= 0.3
        if report_known:
            magnitude_known = True
            total_tpp = max(total_tpp, report_tpp)
            total_h100e = max(total_h100e, report_h100e)
        value = _int_field(r, "value_usd")
        if value and report_known and high_end_only and report_h100e > 0:
            ratio = value / (report_h100e * _PRICE_PER_H100E_USD)
            anomalies.append(min(1.0, abs(math.log10(ratio))))
    for eccn in reported_eccn:
        level = 1.0 if ".a" in eccn[5:7] else 0.6 if ".b" in eccn[5:7] else 0.0
        if eccn[:5] in ("3A090", "4A090"):
            controlled = level if controlled is None else max(controlled, level)
    # items are expected (so their absence is "missing", not "none") for shipments and rented
    # compute; for other categories no item means not applicable
    needs_items = bool(items) or bool(categories & {"chip_diversion", "cloud_compute"})
    f["controlled_item"] = (
        (controlled or 0.0) if controlled is not None or not needs_items else None
    )
    if magnitude_known:
        f["log_total_tpp"] = min(1.0, math.log10(1.0 + total_tpp) / 10.0)
        f["h100e_log"] = min(1.0, math.log10(1.0 + total_h100e) / 5.0)
    elif needs_items:
        f["log_total_tpp"] = None
        f["h100e_log"] = None

    # --- geography -----------------------------------------------------------------------
    dest_codes: list[str] = []
    transit_codes: list[str] = []
    route_countries: set[str] = set()
    any_route = False
    hub = False
    mismatch = 0.0
    for r in reports:
        d = _details(r)
        suspected, declared = _party(d, "suspected_end_user"), _party(d, "declared_end_user")
        for party in (suspected, declared, _party(d, "customer"), _party(d, "organisation")):
            code = _country(party)
            if code:
                dest_codes.append(code)
        route = [str(c).upper() for c in d.get("route") or () if isinstance(c, str) and c]
        if route:
            any_route = True
            route_countries.update(route)
            dest_codes.append(route[-1])
            transit_codes.extend(route[1:-1])
            hub = hub or any(domain.is_transshipment_hub(c) for c in route[1:])
        consignee = _party(d, "consignee")
        if _country(consignee):
            transit_codes.append(_country(consignee) or "")
            hub = hub or domain.is_transshipment_hub(_country(consignee))
        for inter in d.get("intermediaries") or ():
            if isinstance(inter, Mapping) and _country(inter):
                transit_codes.append(_country(inter) or "")
        if _name(suspected):
            if not _name(declared):
                mismatch = max(mismatch, 0.8)
            elif _country(suspected) and _country(declared) != _country(suspected):
                mismatch = max(mismatch, 1.0)
            elif name_key(_name(suspected) or "") != name_key(_name(declared) or ""):
                mismatch = max(mismatch, 0.6)
    dest_risks = [v for v in (domain.destination_risk(c) for c in dest_codes) if v is not None]
    f["destination_risk"] = max(dest_risks) if dest_risks else None
    transit_risks = [v for v in (domain.transit_risk(c) for c in transit_codes) if v is not None]
    if transit_risks:
        f["max_transit_risk"] = max(transit_risks)
    elif "chip_diversion" in categories:
        f["max_transit_risk"] = None
    f["transshipment_hub"] = 1.0 if hub else 0.0
    f["end_user_mismatch"] = mismatch
    if any_route:
        f["route_hops"] = min(1.0, max(0.0, (len(route_countries) - 2) / 3.0))
    elif "chip_diversion" in categories:
        f["route_hops"] = None

    # --- screening and entity network ------------------------------------------------------
    if screen.available:
        f["screening_match"] = min(1.0, max(0.0, (screen.best_name - 0.6) / 0.4))
        f["screening_exact"] = 1.0 if screen.best_name >= 0.97 else 0.0
        f["listed_officer_link"] = screen.best_officer if screen.best_officer >= 0.85 else 0.0
        if not case.person_names:
            f["listed_officer_link"] = None
        link = 0.0
        for text, country, cos in screen.address_hits:
            if cos >= 0.8:
                df = address_df.get(address_key(text, country), 1)
                link = max(link, cos / math.sqrt(df))
        f["listed_address_link"] = link if case.addresses else None
    else:
        for name in ("screening_match", "screening_exact", "listed_address_link"):
            f[name] = None
        f["listed_officer_link"] = None
    if case.addresses:
        f["mass_registration_address"] = max(
            1.0 - 1.0 / math.sqrt(address_df.get(address_key(t, c), 1))
            for t, c, _ in case.addresses
        )
    else:
        f["mass_registration_address"] = None
    inter_names: set[str] = set()
    shell = 0.0
    for r in reports:
        for inter in _details(r).get("intermediaries") or ():
            if isinstance(inter, Mapping) and _name(inter):
                inter_names.add(name_key(_name(inter) or ""))
                role = inter.get("role")
                shell = max(shell, 1.0 if role == "shell" else 0.5 if role == "reseller" else 0.0)
    f["shell_intermediary"] = shell
    f["intermediary_count"] = min(len(inter_names), 4) / 4.0

    # --- red flags, quality, corroboration (independent origins only) ----------------------
    by_origin: dict[str, list[Mapping[str, Any]]] = {}
    for r in reports:
        origin = str(r.get("origin") or f"unknown:{r.get('id')}").lower()
        by_origin.setdefault(origin, []).append(r)
    flags_seen: set[str] = set()
    for flag in RED_FLAGS:
        strengths = []
        for origin_reports in by_origin.values():
            best = max(
                (
                    0.5 + 0.5 * report_quality(r)
                    for r in origin_reports
                    if flag in (_details(r).get("red_flags") or ())
                ),
                default=0.0,
            )
            if best > 0:
                strengths.append(best)
                flags_seen.add(flag)
        f[f"rf_{flag}"] = _noisy_or(strengths)
    f["red_flag_count"] = len(flags_seen) / len(RED_FLAGS)
    f["source_quality"] = max((report_quality(r) for r in reports), default=None)
    f["corroboration"] = 1.0 - 1.0 / len(by_origin) if by_origin else 0.0
    f["relayed_copies"] = min(1.0, math.log2(1 + case.relays) / 3.0)

    # --- recency -------------------------------------------------------------------------
    times = [
        t
        for r in reports
        for t in (
            _parse_time(r.get("event_end")),
            _parse_time(r.get("event_start")),
            _parse_time(r.get("reported_at")),
        )
        if t is not None
    ]
    if times:
        age_days = max(0.0, (now - max(times)).total_seconds() / 86400.0)
        f["recency"] = 2.0 ** (-age_days / half_life_days)
    else:
        f["recency"] = None

    # --- military AI / cloud ----------------------------------------------------------------
    if "military_ai" in categories:
        flops = [_flop(_details(r).get("training_compute_flop")) for r in reports
                 if r.get("category") == "military_ai"]  # fmt: skip
        known = [v for v in flops if v is not None]
        if known:
            top = math.log10(max(known))
            f["training_compute_1e25"] = min(1.0, max(0.0, top - 24.0))
            f["training_compute_1e26"] = min(1.0, max(0.0, top - 25.0))
        else:
            f["training_compute_1e25"] = None
            f["training_compute_1e26"] = None
        capability = " ".join(
            str(_details(r).get("capability") or "")
            for r in reports
            if r.get("category") == "military_ai"
        )
        f["military_capability"] = 1.0 if _MILITARY.search(capability) else 0.0
    if "cloud_compute" in categories:
        hours = [h for h in (_int_field(r, "gpu_hours") for r in reports) if h is not None]
        f["cloud_gpu_hours"] = min(1.0, math.log10(1.0 + max(hours)) / 7.0) if hours else None

    # --- value anomaly, missing fields -------------------------------------------------------
    if "chip_diversion" in categories:
        f["value_anomaly"] = max(anomalies) if anomalies else None
    f["missing_fields"] = _missing_share(reports, categories)
    return f


def _int_field(report: Mapping[str, Any], key: str) -> int | None:
    value = _details(report).get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _has(report: Mapping[str, Any], field_name: str) -> bool:
    d = _details(report)
    if field_name == "serials":
        return any(
            isinstance(item, Mapping) and item.get("serials") for item in d.get("items") or ()
        )
    if field_name == "customer_address":
        customer = _party(d, "customer")
        return bool(customer and customer.get("address"))
    value = d.get(field_name)
    return value not in (None, "", [], {})


def _missing_share(reports: Sequence[Mapping[str, Any]], categories: set[str]) -> float:
    total = 0
    absent = 0
    for category, fields in _KEY_FIELDS.items():
        if category not in categories:
            continue
        of_category = [r for r in reports if r.get("category") == category]
        for field_name in fields:
            total += 1
            if not any(_has(r, field_name) for r in of_category):
                absent += 1
    return absent / total if total else 0.0
