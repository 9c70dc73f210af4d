"""Cases (lists of report dicts) to a feature matrix, and the default hand-set scoring config.

Conventions that keep the score honest:

* Every risk feature is 0 when there is no signal and grows with risk (range [0, 1]), so with
  non-negative weights more evidence never lowers a score (monotonicity). The category
  indicators (``cat_*``) are per-category intercepts.
* MISSING (the data needed is absent: no route on a shipment, no screening list loaded, a chip
  the catalogue does not know, no dates) is NaN in ``X`` and True in ``missing``; the engine
  imputes the feature's neutral prior and the explanation says "missing". NOT APPLICABLE (a
  training-compute feature on a chip-diversion case) is 0.
* Reports: copies of one report id count once (highest version); withdrawn reports are ignored;
  corroboration and red flags count independent ORIGIN nodes, never relaying nodes.
* Input from partners and files is read defensively: a field of the wrong type is treated as
  absent, never as an error, so one odd report cannot stop a batch.

Each feature family is one function ``(CaseContext) -> {feature: value or None}`` in
``FAMILIES``; the catalogue (weights, groups, meanings) is ``featurespec``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from numpy.typing import NDArray

from riskscore import domain
from riskscore.engine import ScoringConfig
from riskscore.featurespec import CATEGORIES, FEATURES, GROUP_LABELS, RED_FLAGS, FeatureSpec
from riskscore.grouping import collapse_copies
from riskscore.matching import (
    ScreeningIndex,
    address_key,
    name_key,
    screen_names,
)

__all__ = [
    "DEFAULT_CONFIG",
    "FAMILIES",
    "FEATURES",
    "FEATURE_GROUPS",
    "FEATURE_NAMES",
    "GROUP_LABELS",
    "RED_FLAGS",
    "CaseContext",
    "FeatureMatrix",
    "FeatureSpec",
    "build_features",
    "case_contexts",
    "report_quality",
]

FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURES)
FEATURE_GROUPS: dict[str, str] = {spec.name: spec.group for spec in FEATURES}

#: The catalogue's weights are relative strengths of evidence; this factor turns them into
#: log-odds. With the reference's priors used as log-odds directly, a case with many signals
#: reached z = 8 and scores bunched at 99-100 (no order at the top of the queue); scaled, the
#: strongest demo cases sit near z = 3-4 (95-98). A uniform factor changes no ranking.
EVIDENCE_SCALE = 0.55

DEFAULT_CONFIG = ScoringConfig(
    version="2026-12-default",
    feature_names=FEATURE_NAMES,
    weights=tuple(round(spec.weight * EVIDENCE_SCALE, 4) for spec in FEATURES),
    # a case with no signal scores 100 * sigmoid(-4) = 1.8
    bias=-4.0,
    neutral=tuple(spec.neutral for spec in FEATURES),
    half_life_days=180.0,
    descriptions=tuple(spec.description for spec in FEATURES),
)

_RELIABILITY = {"A": 0.95, "B": 0.80, "C": 0.60, "D": 0.40, "E": 0.20, "F": 0.50}
_CREDIBILITY = {1: 0.9, 2: 0.7, 3: 0.5, 4: 0.3, 5: 0.1, 6: 0.5}
_A1 = 0.95 * 0.9
_MILITARY_CAPABILITY = re.compile(
    r"target|autonom|command and control|\bc2\b|c4isr|\bisr\b|battlefield|weapon|missile|"
    r"drone|unmanned|swarm|cyber|surveillance|situational awareness|electronic warfare",
    re.IGNORECASE,
)
_MILITARY_ORG = re.compile(
    r"\bpla\b|people'?s liberation|army|navy|air force|military|defen[cs]e|armed forces|"
    r"\bmod\b|ministry of defen|rocket force|strategic support|\birgc\b|academy of military",
    re.IGNORECASE,
)
_DISTILLATION = re.compile(r"distil|api (?:calls|queries|volume)|inference volume|scrap",
                           re.IGNORECASE)  # fmt: skip
_FRONTIER = re.compile(r"frontier|gpt|claude|gemini|llama|qwen|deepseek|foundation model", re.I)
_CHANNELS = (
    ("leak", 1.0, re.compile(r"\bleak", re.I)),
    ("theft", 1.0, re.compile(r"theft|stolen|steal|exfiltrat", re.I)),
    ("unlicensed_transfer", 0.8, re.compile(r"unlicen[cs]ed|without (?:a )?licen", re.I)),
    ("sale", 0.6, re.compile(r"for sale|offered|broker|sold", re.I)),
    ("open_release", 0.1, re.compile(r"open[- ]weight|open release|published weights", re.I)),
    ("licensed", 0.0, re.compile(r"\blicensed transfer", re.I)),
)
_INCIDENT_CAPABILITIES = (
    ("self_replication", re.compile(r"self[- ]?replicat|cop(?:y|ied) itself|replicat", re.I)),
    ("vulnerability_exploitation", re.compile(r"exploit|vulnerab|privilege escalation", re.I)),
    ("detection_evasion", re.compile(r"evad|evasion|disabl\w* (?:monitor|log)|conceal", re.I)),
    ("resource_acquisition", re.compile(r"acquir\w* (?:compute|resources|funds)|rented", re.I)),
)
_STATE_ACTOR = re.compile(r"state|government|ministry|military|intelligence|\bapt\b", re.I)
_SMALL_BUYER_FLAGS = frozenset({"residential_address", "new_company", "reluctant_information"})
_KEY_FIELDS = {
    "chip_diversion": (
        "consignee", "declared_end_user", "route", "value_usd", "shipment_ref", "eccn", "serials",
    ),
    "military_ai": ("organisation", "training_compute_flop", "chips_used"),
    "cloud_compute": ("customer", "customer_address", "gpu_hours", "chips"),
    "model_weights": ("organisation", "training_compute_flop", "channel", "recipient"),
    "ai_incident": ("organisation", "capabilities", "scale", "actor"),
}  # fmt: skip
_PRICE_PER_H100E_USD = 25_000.0  # market order of magnitude (2024-2026 H100 list prices)
_CLOUD_UTILISATION = 0.4  # model FLOP utilisation of a rented training run (design, ref 1.5)
_H100_DENSE_FLOPS = 989.4e12  # BF16 dense, ref 1.6


@dataclass(frozen=True)
class FeatureMatrix:
    X: NDArray[np.float64]  # (cases, features), NaN where missing
    missing: NDArray[np.bool_]
    feature_names: tuple[str, ...]
    case_ids: tuple[str, ...]

    def column(self, name: str) -> NDArray[np.float64]:
        return self.X[:, self.feature_names.index(name)]


# ---------------------------------------------------------------------------------------------
# Defensive readers


def report_quality(report: Mapping[str, Any]) -> float:
    """Admiralty quality in [0, 1] (A1 = 1); unknown grades count as F / 6 (neutral)."""
    rel = _RELIABILITY.get(str(report.get("source_reliability") or "F").strip().upper()[:1], 0.5)
    cred_raw = report.get("info_credibility")
    if isinstance(cred_raw, str) and cred_raw.strip().isdigit():
        cred_raw = int(cred_raw.strip())
    cred = _CREDIBILITY.get(cred_raw if isinstance(cred_raw, int) else 6, 0.5)
    return rel * cred / _A1


def _details(report: Mapping[str, Any]) -> Mapping[str, Any]:
    details = report.get("details")
    return details if isinstance(details, Mapping) else {}


def _party(details: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    party = details.get(key)
    if isinstance(party, str) and party.strip():
        return {"name": party}
    return party if isinstance(party, Mapping) else None


def _name(party: Mapping[str, Any] | None) -> str | None:
    if party is None:
        return None
    name = party.get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


def _code(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("country")
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if len(code) == 2 and code.isalpha() else None


def _country(party: Mapping[str, Any] | None) -> str | None:
    return None if party is None else _code(party.get("country"))


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _route(details: Mapping[str, Any]) -> list[str]:
    raw = details.get("route")
    if isinstance(raw, str):
        raw = re.split(r"[^A-Za-z]+", raw)
    return [c for c in (_code(x) for x in _list(raw)) if c]


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("_", "")
    try:
        number = float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _flop(value: Any) -> float | None:
    number = _number(value)
    return number if number and number > 0 else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _items(report: Mapping[str, Any]) -> list[tuple[str, float | None, list[str]]]:
    """(model, quantity, serials) of every accelerator the report mentions, any category."""
    details = _details(report)
    out: list[tuple[str, float | None, list[str]]] = []
    for key in ("items", "chips_used", "chips"):
        for item in _list(details.get(key)):
            if not isinstance(item, Mapping):
                continue
            model = item.get("model")
            if not isinstance(model, str) or not model.strip():
                continue
            qty = _number(item.get("quantity"))
            serials = [str(s).strip().upper() for s in _list(item.get("serials")) if s]
            out.append((model, qty if qty else None, serials))
    return out


def _flags(report: Mapping[str, Any]) -> set[str]:
    return {str(f).strip().lower() for f in _list(_details(report).get("red_flags"))}


def _text(report: Mapping[str, Any], *keys: str) -> str:
    d = _details(report)
    parts = [str(d.get(k) or "") for k in keys if isinstance(d.get(k), str)]
    parts.extend(str(report.get(k) or "") for k in ("title", "summary"))
    return " ".join(parts)


def _noisy_or(values: Iterable[float]) -> float:
    survive = 1.0
    for v in values:
        survive *= 1.0 - min(max(v, 0.0), 1.0)
    return 1.0 - survive


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _destination_value(code: str | None) -> float | None:
    """Final-destination risk: D:5/Macau 1; everything else well below (hubs are not guilt)."""
    risk = domain.destination_risk(code)
    if risk is None:
        return None
    return 1.0 if risk >= 0.99 else round(0.5 * risk, 4)


# ---------------------------------------------------------------------------------------------
# Case context: what one case and its batch give the feature families


@dataclass(frozen=True)
class Screen:
    available: bool
    best_name: float = 0.0  # calibrated strength of the best party match
    exact: bool = False
    best_officer: float = 0.0
    by_name: Mapping[str, float] = field(default_factory=dict)  # party name -> strength
    address_hits: tuple[tuple[str, str | None, float], ...] = ()  # text, country, cosine


@dataclass(frozen=True)
class Batch:
    """Look-ups over the whole batch of cases (rarity of addresses, shared serials, parties)."""

    address_df: Mapping[str, int] = field(default_factory=dict)
    serial_cases: Mapping[str, frozenset[int]] = field(default_factory=dict)
    diversion_parties: Mapping[str, frozenset[int]] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    half_life_days: float = 180.0


@dataclass
class CaseContext:
    row: int
    reports: list[Mapping[str, Any]]
    relays: int
    party_names: list[tuple[str, str | None]]  # name, country
    person_names: list[str]
    addresses: list[tuple[str, str | None, frozenset[str]]]  # text, country, owner name keys
    screen: Screen = field(default_factory=lambda: Screen(available=False))
    batch: Batch = field(default_factory=Batch)

    @property
    def categories(self) -> set[str]:
        return {_category(r) for r in self.reports}

    def of(self, category: str) -> list[Mapping[str, Any]]:
        return [r for r in self.reports if _category(r) == category]


def _category(report: Mapping[str, Any]) -> str:
    value = str(report.get("category") or "other").strip().lower()
    return value if value in CATEGORIES else "other"


_PARTY_KEYS = (
    "consignee", "declared_end_user", "suspected_end_user", "organisation", "customer",
    "provider", "recipient", "actor", "beneficial_owner", "parent",
)  # fmt: skip


_PERSON_ROLES = ("officer", "shareholder")


def _case_context(row: int, case: Sequence[Mapping[str, Any]]) -> CaseContext:
    kept, relays, _withdrawn = collapse_copies([r for r in case if isinstance(r, Mapping)])
    parties: list[tuple[str, str | None]] = []
    persons: list[str] = []
    addresses: list[tuple[str, str | None, frozenset[str]]] = []
    for report in kept:
        details = _details(report)
        org_keys: set[str] = set()
        named = [_party(details, key) for key in _PARTY_KEYS]
        named += [i for i in _list(details.get("intermediaries")) if isinstance(i, Mapping)]
        for party in named:
            name = _name(party)
            if not name or party is None:
                continue
            parties.append((name, _country(party)))
            org_keys.add(name_key(name))
            address = party.get("address")
            if isinstance(address, str) and address.strip():
                addresses.append((address, _country(party), frozenset({name_key(name)})))
        entities = [e for e in _list(report.get("entities")) if isinstance(e, Mapping)]
        for entity in entities:
            name = entity.get("name")
            if not isinstance(name, str) or not name.strip():
                continue
            if entity.get("kind") == "organisation":
                parties.append((name, _country(entity)))
                org_keys.add(name_key(name))
            elif entity.get("kind") == "person" and entity.get("role") in (
                "officer",
                "shareholder",
            ):
                persons.append(name)
        for entity in entities:  # addresses belong to the report's organisations
            name = entity.get("name")
            if entity.get("kind") == "address" and isinstance(name, str) and name.strip():
                addresses.append((name, _country(entity), frozenset(org_keys)))
    return CaseContext(
        row=row,
        reports=kept,
        relays=len({node for nodes in relays.values() for node in nodes}),
        party_names=list(dict.fromkeys(parties)),
        person_names=list(dict.fromkeys(persons)),
        addresses=addresses,
    )


# ---------------------------------------------------------------------------------------------
# Feature families (each tested alone)

Row = dict[str, float | None]


def category_features(ctx: CaseContext) -> Row:
    """Each category's share of the case's reports: the intercepts of a mixed case average."""
    counts = dict.fromkeys(CATEGORIES, 0)
    for r in ctx.reports:
        counts[_category(r)] += 1
    total = sum(counts.values()) or 1
    return {f"cat_{c}": counts[c] / total for c in CATEGORIES}


def screening_features(ctx: CaseContext) -> Row:
    screen = ctx.screen
    if not screen.available:
        names = ("screening_match", "screening_exact", "listed_address_link", "listed_officer_link")
        return dict.fromkeys(names)
    link = 0.0
    for text, country, cos in screen.address_hits:
        if cos >= 0.8:
            df = ctx.batch.address_df.get(address_key(text, country), 1)
            link = max(link, cos / math.sqrt(df))
    return {
        "screening_match": screen.best_name,
        "screening_exact": 1.0 if screen.exact else 0.0,
        "listed_address_link": link if ctx.addresses else None,
        "listed_officer_link": (
            (screen.best_officer if screen.best_officer >= 0.5 else 0.0)
            if ctx.person_names
            else None
        ),
    }


def _last_destination(details: Mapping[str, Any]) -> str | None:
    for key in ("final_destination", "destination_country", "destination"):
        code = _code(details.get(key))
        if code:
            return code
    route = _route(details)
    return route[-1] if route else None


def _declared_country(details: Mapping[str, Any]) -> str | None:
    return _country(_party(details, "declared_end_user")) or _code(
        details.get("declared_end_user_country")
    )


def _end_user_mismatch(details: Mapping[str, Any]) -> float:
    suspected, declared = (
        _party(details, "suspected_end_user"),
        _party(details, "declared_end_user"),
    )
    if not _name(suspected):
        return 0.0
    if not _name(declared):
        return 0.8
    if _country(suspected) and _country(declared) != _country(suspected):
        return 1.0
    if name_key(_name(suspected) or "") != name_key(_name(declared) or ""):
        return 0.5
    return 0.0


def geography_features(ctx: CaseContext) -> Row:
    shipments = ctx.of("chip_diversion")
    declared_vs: list[float] = []
    destinations: list[float] = []
    transits: list[float] = []
    routes: list[list[str]] = []
    mismatch = 0.0
    for r in ctx.reports:
        d = _details(r)
        route = _route(d)
        if route:
            routes.append(route)
        final, declared = _last_destination(d), _declared_country(d)
        if final and declared:
            declared_vs.append(1.0 if final != declared else 0.0)
        if route and declared and route[-1] != declared and route[-1] != final:
            declared_vs.append(1.0)
        suspected = _country(_party(d, "suspected_end_user"))
        for code in (final, suspected):
            value = _destination_value(code)
            if value is not None:
                destinations.append(value)
        middle = route[1:-1] + [c for c in (_country(_party(d, "consignee")),) if c]
        middle += [c for i in _list(d.get("intermediaries")) if (c := _code(i))]
        transits.extend(v for v in (domain.transit_risk(c) for c in middle) if v is not None)
        mismatch = max(mismatch, _end_user_mismatch(d))
    expected = bool(shipments)
    hub = any(domain.is_transshipment_hub(c) for route in routes for c in route[1:])
    distinct = {c for route in routes for c in route}
    return {
        "declared_vs_destination": max(declared_vs) if declared_vs else (None if expected else 0.0),
        "end_user_mismatch": mismatch,
        "final_destination_risk": max(destinations) if destinations else (
            None if expected else 0.0),
        "transit_risk": max(transits) if transits else (None if expected else 0.0),
        "transshipment_hub": 1.0 if hub else 0.0,
        "route_hops": _clip((len(distinct) - 2) / 3.0) if routes else (None if expected else 0.0),
    }  # fmt: skip


def _eccn_level(eccn: Any) -> float | None:
    if not isinstance(eccn, str) or not eccn.strip():
        return None
    text = eccn.strip().upper()
    if text[:5] not in ("3A090", "4A090"):
        return 0.0
    suffix = text[5:7]
    return 1.0 if suffix == ".A" else 0.6 if suffix == ".B" else 0.3


def _report_magnitude(report: Mapping[str, Any]) -> tuple[float | None, float | None, bool]:
    """(H100-equivalents, controlled level, every item high-end) of one report's known items."""
    h100e: float | None = None
    level: float | None = None
    high_end = True
    for model, qty, _serials in _items(report):
        facts = domain.chip_facts(model)
        if facts is None:
            high_end = False
            continue
        item_level = 1.0 if facts.eccn == "3A090.a" else 0.6 if facts.eccn == "3A090.b" else 0.0
        level = item_level if level is None else max(level, item_level)
        high_end = high_end and facts.h100_equivalents >= 0.3
        if qty is not None:
            h100e = (h100e or 0.0) + qty * facts.h100_equivalents
    return h100e, level, high_end


def item_features(ctx: CaseContext) -> Row:
    needs_items = bool(ctx.categories & {"chip_diversion", "cloud_compute"})
    levels: list[float] = []
    magnitudes: list[float] = []
    anomalies: list[float] = []
    prc = False
    for r in ctx.reports:
        h100e, level, high_end = _report_magnitude(r)
        prc = prc or any(domain.is_prc_accelerator(m) for m, _, _ in _items(r))
        eccn = _eccn_level(_details(r).get("eccn"))
        levels.extend(v for v in (level, eccn) if v is not None)
        if h100e is not None:
            magnitudes.append(h100e)
            value = _number(_details(r).get("value_usd"))
            if value and high_end and h100e > 0:
                ratio = value / (h100e * _PRICE_PER_H100E_USD)
                anomalies.append(_clip(abs(math.log10(ratio)) / math.log10(4.0)))
    any_items = any(_items(r) for r in ctx.reports)
    unknown = None if (needs_items or any_items) else 0.0
    largest = max(magnitudes) if magnitudes else None
    flags = set().union(*(_flags(r) for r in ctx.reports)) if ctx.reports else set()
    small_buyer = bool(flags & _SMALL_BUYER_FLAGS)
    return {
        "controlled_item": max(levels) if levels else unknown,
        "h100e_log": _clip(math.log10(1.0 + largest) / 5.0) if largest is not None else unknown,
        "prc_accelerator": 1.0 if prc else 0.0,
        "value_anomaly": max(anomalies) if anomalies else (
            None if "chip_diversion" in ctx.categories else 0.0),
        "quantity_vs_buyer": (
            _clip(math.log10(1.0 + largest) / 3.0) if small_buyer and largest else 0.0),
        "serial_reuse": 1.0 if _serial_reused(ctx) else 0.0,
    }  # fmt: skip


def _serial_reused(ctx: CaseContext) -> bool:
    for r in ctx.reports:
        for _model, _qty, serials in _items(r):
            for serial in serials:
                if len(ctx.batch.serial_cases.get(serial, frozenset())) > 1:
                    return True
    return False


def red_flag_features(ctx: CaseContext) -> Row:
    by_origin = _by_origin(ctx.reports)
    out: Row = {}
    seen: set[str] = set()
    for flag in RED_FLAGS:
        strengths = []
        for origin_reports in by_origin.values():
            best = max(
                (0.5 + 0.5 * report_quality(r) for r in origin_reports if flag in _flags(r)),
                default=0.0,
            )
            if best > 0:
                strengths.append(best)
                seen.add(flag)
        out[f"rf_{flag}"] = _noisy_or(strengths)
    out["red_flag_count"] = min(1.0, len(seen) / 5.0)
    return out


def _by_origin(reports: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    by_origin: dict[str, list[Mapping[str, Any]]] = {}
    for r in reports:
        origin = str(r.get("origin") or f"unknown:{r.get('id')}").lower()
        by_origin.setdefault(origin, []).append(r)
    return by_origin


def network_features(ctx: CaseContext) -> Row:
    inter_names: set[str] = set()
    shell = 0.0
    for r in ctx.reports:
        for inter in _list(_details(r).get("intermediaries")):
            if isinstance(inter, Mapping) and _name(inter):
                inter_names.add(name_key(_name(inter) or ""))
                role = str(inter.get("role") or "")
                shell = max(shell, 1.0 if role == "shell" else 0.5 if role == "reseller" else 0.0)
    mass = None
    if ctx.addresses:
        mass = max(
            1.0 - 1.0 / math.sqrt(ctx.batch.address_df.get(address_key(t, c), 1))
            for t, c, _ in ctx.addresses
        )
    return {
        "mass_registration_address": mass,
        "shell_intermediary": shell,
        "intermediary_count": min(len(inter_names), 4) / 4.0,
    }


def source_features(ctx: CaseContext) -> Row:
    origins = _by_origin(ctx.reports)
    times = [
        t
        for r in ctx.reports
        for t in (
            _parse_time(r.get("event_end")),
            _parse_time(r.get("event_start")),
            _parse_time(r.get("reported_at")),
        )
        if t is not None
    ]
    recency = None
    if times:
        age_days = max(0.0, (ctx.batch.now - max(times)).total_seconds() / 86400.0)
        recency = 2.0 ** (-age_days / ctx.batch.half_life_days)
    return {
        "source_quality": max((report_quality(r) for r in ctx.reports), default=None),
        "corroboration": 1.0 - 1.0 / len(origins) if origins else 0.0,
        "recency": recency,
        "missing_fields": _missing_share(ctx),
    }


def _training_flop(reports: Sequence[Mapping[str, Any]]) -> float | None:
    known = [v for r in reports if (v := _flop(_details(r).get("training_compute_flop")))]
    return max(known) if known else None


def _chip_level(reports: Sequence[Mapping[str, Any]]) -> tuple[float, float | None]:
    """(controlled level of the chips used, largest cluster size) over the reports."""
    level = 0.0
    cluster: float | None = None
    for r in reports:
        for model, qty, _ in _items(r):
            facts = domain.chip_facts(model)
            if domain.is_prc_accelerator(model) or (facts and facts.eccn == "3A090.a"):
                level = 1.0
            elif facts and facts.eccn == "3A090.b":
                level = max(level, 0.6)
            if qty:
                cluster = max(cluster or 0.0, qty)
        size = _number(_details(r).get("cluster_size"))
        if size:
            cluster = max(cluster or 0.0, size)
    return level, cluster


def military_ai_features(ctx: CaseContext) -> Row:
    reports = ctx.of("military_ai")
    names = (
        "training_compute_1e25",
        "training_compute_1e26",
        "military_capability",
        "military_end_user",
        "controlled_chips_used",
        "cluster_size",
        "linked_diversion",
    )
    if not reports:
        return dict.fromkeys(names, 0.0)
    flop = _training_flop(reports)
    top = math.log10(flop) if flop else None
    capability = " ".join(_text(r, "capability", "description") for r in reports)
    orgs = [p for r in reports for k in ("organisation", "parent") if (p := _party(_details(r), k))]
    military = any(_MILITARY_ORG.search(_name(p) or "") for p in orgs) or any(
        str(_details(r).get("end_user_type") or "").lower() in ("military", "defence", "defense")
        for r in reports
    )
    listed = max((ctx.screen.by_name.get(_name(p) or "", 0.0) for p in orgs), default=0.0)
    level, cluster = _chip_level(reports)
    linked = any(
        ctx.batch.diversion_parties.get(name_key(_name(p) or ""), frozenset()) - {ctx.row}
        for p in orgs
    )
    return {
        "training_compute_1e25": _clip(top - 24.0) if top is not None else None,
        "training_compute_1e26": _clip(top - 25.0) if top is not None else None,
        "military_capability": 1.0 if _MILITARY_CAPABILITY.search(capability) else 0.0,
        "military_end_user": max(1.0 if military else 0.0, listed),
        "controlled_chips_used": level,
        "cluster_size": _clip(math.log10(cluster) / 3.0) if cluster else None,
        "linked_diversion": 1.0 if linked else 0.0,
    }


def _owner_risk(details: Mapping[str, Any], keys: Sequence[str]) -> float | None:
    values = []
    for key in keys:
        code = _country(_party(details, key))
        risk = domain.destination_risk(code)
        if risk is not None:
            values.append(1.0 if risk >= 0.99 else 0.3 if risk >= 0.55 else 0.0)
    return max(values) if values else None


def cloud_features(ctx: CaseContext) -> Row:
    reports = ctx.of("cloud_compute")
    names = ("cloud_training_flop", "cloud_customer_risk", "cloud_layers", "distillation")
    if not reports:
        return dict.fromkeys(names, 0.0)
    flops = []
    for r in reports:
        hours = _number(_details(r).get("gpu_hours"))
        if hours is None:
            continue
        per_gpu = _H100_DENSE_FLOPS
        for model, _qty, _ in _items(r):
            facts = domain.chip_facts(model)
            if facts is not None:
                per_gpu = facts.h100_equivalents * _H100_DENSE_FLOPS
                break
        flops.append(hours * 3600.0 * per_gpu * _CLOUD_UTILISATION)
    risks = [
        v for r in reports if (v := _owner_risk(_details(r), ("customer", "beneficial_owner")))
        is not None
    ]  # fmt: skip
    listed = max((ctx.screen.by_name.get(n, 0.0) for n, _ in ctx.party_names), default=0.0)
    layers = max(
        (sum(1 for i in _list(_details(r).get("intermediaries"))
             if isinstance(i, Mapping) and i.get("role") in ("reseller", "shell"))
         for r in reports),
        default=0,
    )  # fmt: skip
    text = " ".join(_text(r, "description", "workload", "pattern") for r in reports)
    volume = max((_number(_details(r).get("api_calls")) or 0.0 for r in reports), default=0.0)
    distil = 1.0 if _DISTILLATION.search(text) or volume >= 1e7 else 0.0
    if distil and not _FRONTIER.search(text) and volume < 1e7:
        distil = 0.5
    return {
        "cloud_training_flop": _clip((math.log10(max(flops)) - 23.0) / 2.0) if flops else None,
        "cloud_customer_risk": max([*risks, listed]) if risks or listed else None,
        "cloud_layers": min(layers, 2) / 2.0,
        "distillation": distil,
    }


def model_weights_features(ctx: CaseContext) -> Row:
    reports = ctx.of("model_weights")
    names = ("weights_compute", "weights_channel", "weights_recipient_risk")
    if not reports:
        return dict.fromkeys(names, 0.0)
    flop = _training_flop(reports)
    channel: float | None = None
    for r in reports:
        stated = str(_details(r).get("channel") or "").strip().lower()
        text = stated or _text(r, "description")
        for label, value, pattern in _CHANNELS:
            if stated == label or pattern.search(text):
                channel = max(channel or 0.0, value)
                break
    recipient_risk = [
        v for r in reports if (v := _owner_risk(_details(r), ("recipient", "organisation")))
        is not None
    ]  # fmt: skip
    recipients = [_name(_party(_details(r), "recipient")) for r in reports]
    listed = max((ctx.screen.by_name.get(n or "", 0.0) for n in recipients), default=0.0)
    return {
        "weights_compute": _clip(math.log10(flop) - 25.0) if flop else None,
        "weights_channel": channel,
        "weights_recipient_risk": (
            max([*recipient_risk, listed]) if recipient_risk or listed else None
        ),
    }


def incident_features(ctx: CaseContext) -> Row:
    reports = ctx.of("ai_incident")
    names = ("incident_capabilities", "incident_scale", "incident_actor")
    if not reports:
        return dict.fromkeys(names, 0.0)
    stated = {
        str(c).strip().lower() for r in reports for c in _list(_details(r).get("capabilities"))
    }
    text = " ".join(_text(r, "description") for r in reports)
    shown = {
        label
        for label, pattern in _INCIDENT_CAPABILITIES
        if label in stated or pattern.search(text)
    }
    scale = max((v for r in reports if (v := _number(_details(r).get("scale"))) is not None),
                default=None)  # fmt: skip
    actor: float | None = None
    for r in reports:
        for key in ("actor", "organisation"):
            party = _party(_details(r), key)
            if party is None:
                continue
            risk = _owner_risk(_details(r), (key,))
            state = 1.0 if _STATE_ACTOR.search(str(party.get("type") or "")) else 0.0
            listed = ctx.screen.by_name.get(_name(party) or "", 0.0)
            actor = max(actor or 0.0, state, listed, risk or 0.0)
    return {
        "incident_capabilities": len(shown) / len(_INCIDENT_CAPABILITIES),
        "incident_scale": _clip(math.log10(1.0 + scale) / 3.0) if scale is not None else None,
        "incident_actor": actor,
    }  # fmt: skip


FAMILIES: tuple[Callable[[CaseContext], Row], ...] = (
    category_features,
    screening_features,
    geography_features,
    item_features,
    red_flag_features,
    network_features,
    source_features,
    military_ai_features,
    cloud_features,
    model_weights_features,
    incident_features,
)


# ---------------------------------------------------------------------------------------------
# Missing fields


def _has(report: Mapping[str, Any], field_name: str) -> bool:
    d = _details(report)
    if field_name == "serials":
        return any(serials for _m, _q, serials in _items(report))
    if field_name == "customer_address":
        customer = _party(d, "customer")
        return bool(customer and customer.get("address"))
    value = d.get(field_name)
    return value not in (None, "", [], {})


def _missing_share(ctx: CaseContext) -> float:
    total = 0
    absent = 0
    for category, fields in _KEY_FIELDS.items():
        of_category = ctx.of(category)
        if not of_category:
            continue
        for field_name in fields:
            total += 1
            if not any(_has(r, field_name) for r in of_category):
                absent += 1
    return absent / total if total else 0.0


# ---------------------------------------------------------------------------------------------
# Batch look-ups and the matrix


def _screens(contexts: Sequence[CaseContext], index: ScreeningIndex | None) -> list[Screen]:
    """One batched screening pass for all party, officer and address names of the batch."""
    if index is None or len(index) == 0:
        return [Screen(available=False) for _ in contexts]
    parties = sorted({p for c in contexts for p in c.party_names}, key=lambda p: (p[0], p[1] or ""))
    own = [n for n, _ in parties]
    hits = screen_names(index, own, [c for _, c in parties], own_names=own)
    strength = {p: h.strength for p, h in zip(parties, hits, strict=True)}
    exact = {p for p, h in zip(parties, hits, strict=True) if h.exact}
    persons = sorted({n for c in contexts for n in c.person_names})
    person_strength = dict(
        zip(persons, (h.strength for h in screen_names(index, persons, own_names=persons)),
            strict=True)
    )  # fmt: skip
    addr = sorted(
        {(t, c) for ctx in contexts for t, c, _ in ctx.addresses}, key=lambda a: (a[0], a[1] or "")
    )
    addr_result = index.match_addresses([t for t, _ in addr], [c for _, c in addr])
    addr_score = dict(zip(addr, addr_result.scores.tolist(), strict=True))
    out: list[Screen] = []
    for ctx in contexts:
        by_name: dict[str, float] = {}
        for p in ctx.party_names:
            by_name[p[0]] = max(by_name.get(p[0], 0.0), strength[p])
        out.append(
            Screen(
                available=True,
                best_name=max(by_name.values(), default=0.0),
                exact=any(p in exact for p in ctx.party_names),
                best_officer=max((person_strength[n] for n in ctx.person_names), default=0.0),
                by_name=by_name,
                address_hits=tuple((t, c, addr_score[(t, c)]) for t, c, _ in ctx.addresses),
            )
        )
    return out


def _batch(contexts: Sequence[CaseContext], now: datetime, half_life_days: float) -> Batch:
    owners: dict[str, set[str]] = {}
    serials: dict[str, set[int]] = {}
    diversion: dict[str, set[int]] = {}
    for ctx in contexts:
        for text, country, org_keys in ctx.addresses:
            owners.setdefault(address_key(text, country), set()).update(org_keys or {text})
        for r in ctx.reports:
            for _model, _qty, item_serials in _items(r):
                for serial in item_serials:
                    serials.setdefault(serial, set()).add(ctx.row)
            if _category(r) == "chip_diversion":
                d = _details(r)
                for key in ("suspected_end_user", "declared_end_user", "consignee"):
                    name = _name(_party(d, key))
                    if name:
                        diversion.setdefault(name_key(name), set()).add(ctx.row)
    return Batch(
        address_df={k: max(1, len(v)) for k, v in owners.items()},
        serial_cases={k: frozenset(v) for k, v in serials.items()},
        diversion_parties={k: frozenset(v) for k, v in diversion.items()},
        now=now,
        half_life_days=half_life_days,
    )


def case_contexts(
    cases: Sequence[Sequence[Mapping[str, Any]]],
    screening: ScreeningIndex | None = None,
    now: datetime | None = None,
    half_life_days: float = 180.0,
) -> list[CaseContext]:
    """Per-case contexts with the batch's screening results and look-ups attached."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    contexts = [_case_context(i, case) for i, case in enumerate(cases)]
    batch = _batch(contexts, now, half_life_days)
    for ctx, screen in zip(contexts, _screens(contexts, screening), strict=True):
        ctx.screen = screen
        ctx.batch = batch
    return contexts


_CATEGORY_FAMILIES = frozenset(
    {military_ai_features, cloud_features, model_weights_features, incident_features}
)


def case_row(ctx: CaseContext) -> Row:
    """Every feature of one case (the families' rows merged).

    A case mixing k categories (reports on one laboratory's model, its weights and an incident)
    has its category-specific families scaled by 1/sqrt(k): they corroborate one another, but
    adding them in full let mixed cases pile evidence up to a score of 100.
    """
    mix = 1.0 / math.sqrt(max(1, len(ctx.categories)))
    row: Row = {}
    for family in FAMILIES:
        values = family(ctx)
        if mix < 1.0 and family in _CATEGORY_FAMILIES:
            values = {k: None if v is None else v * mix for k, v in values.items()}
        row.update(values)
    return row


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
    contexts = case_contexts(cases, screening, now, config.half_life_days)
    n = len(contexts)
    col = {name: j for j, name in enumerate(config.feature_names)}
    X = np.full((n, len(col)), np.nan, dtype=np.float64)
    for i, ctx in enumerate(contexts):
        for name, value in case_row(ctx).items():
            j = col.get(name)
            if j is not None:
                X[i, j] = np.nan if value is None else value
    ids = (
        tuple(case_ids)
        if case_ids is not None
        else tuple(",".join(str(r.get("id")) for r in c.reports) for c in contexts)
    )
    if len(ids) != n:
        raise ValueError(f"{len(ids)} case ids for {n} cases")
    return FeatureMatrix(X=X, missing=np.isnan(X), feature_names=config.feature_names, case_ids=ids)
