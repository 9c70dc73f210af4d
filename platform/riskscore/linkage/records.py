"""Reports reduced to the fields linkage compares, normalised once.

Why a separate step: a report is compared with tens of others, so names, serials and dates are
normalised once per report, and every field becomes an integer code or a small set the
comparison step can handle with numpy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from riskscore.matching import normalize_address, normalize_name

__all__ = [
    "ADDRESS_SOFT",
    "GENERIC_WORDS",
    "LEGAL_WORDS",
    "Party",
    "Record",
    "Report",
    "collapse_copies",
    "extract",
    "model_family",
    "party_names",
    "record_names",
    "report_addresses",
    "report_names",
]

Report = Mapping[str, Any]

_ALNUM = re.compile(r"[^0-9A-Z]+")
_MODEL = re.compile(r"[A-Z]*[0-9][0-9A-Z]*")
# "Golden Bridge Ltd (a.k.a. GB Trading)", "X d/b/a Y": one party, several names
_ALIAS_SPLIT = re.compile(
    r"\(|\)|;|\b(?:a\.?\s?k\.?\s?a\.?|f\.?\s?k\.?\s?a\.?|d\.?\s?b\.?\s?a\.?"
    r"|also known as|formerly)\b",
    re.IGNORECASE,
)


def _skeleton_words(words: str) -> frozenset[str]:
    return frozenset(t for w in words.split() for t in normalize_name(w).split())


# Legal forms and filler: agreement or disagreement on them says nothing.
LEGAL_WORDS: frozenset[str] = _skeleton_words(
    """llc ltd limited co company companies corp corporation inc incorporated gmbh mbh ag kg pte
    pty plc llp lp sdn bhd berhad fze fzco fzc fzllc dmcc jsc ojsc pjsc cjsc zao oao pao ooo ip sa
    sas sarl srl spa bv nv ab oy as aps kk kabushiki kaisha ltda sl ek tbk pt cv and the of for
    de la el y und et"""
)
# Generic business words: shared by thousands of unrelated companies. Agreement weighs little,
# but two names that differ only in them (Logistics vs Industrial) are different companies.
GENERIC_WORDS: frozenset[str] = (
    _skeleton_words(
        """trading trade traders technology technologies tech holding holdings group
    international intl industries industrial industry enterprise enterprises import export imp exp
    logistics solutions services service global worldwide computing computer computers electronics
    electronic systems system supply chain semiconductor semiconductors digital network networks
    development science sciences innovation innovations resources shipping freight cargo express
    manufacturing engineering components devices equipment materials investment investments
    ventures partners management consulting commercial development data information smart
    precision advanced new general united asia pacific east west north south china hong kong
    shenzhen shanghai beijing singapore dubai"""
    )
    - LEGAL_WORDS
)
ADDRESS_SOFT: frozenset[str] = _skeleton_words(
    """street st road rd avenue ave boulevard blvd lane ln drive dr way building bldg tower floor
    fl level lvl unit suite ste room rm no number block blk district province city industrial park
    zone free area jalan jln lorong off of the and po box"""
)


@dataclass(frozen=True)
class Party:
    """A named party: every name it goes by as written, and their normalised forms."""

    written: tuple[str, ...]
    normalized: tuple[str, ...]  # same order; empty normalisations dropped
    country: str


@dataclass(frozen=True)
class Record:
    """One report (one copy per id) as linkage sees it."""

    id: str
    level: str
    category: str
    party: Party | None  # consignee / cloud customer / organisation
    address: str  # as written
    address_key: str  # distinctive address tokens, sorted, plus country
    suspected: Party | None
    declared: Party | None
    intermediaries: tuple[tuple[str, str], ...]  # (as written, normalised)
    serials: frozenset[str]
    shipment_ref: str
    models: frozenset[str]
    quantity: int  # total units, 0 when unknown
    route: tuple[str, ...]
    day: int | None  # event_start as a proleptic ordinal
    event: str  # event_start as written


def _version(report: Report) -> int:
    value = report.get("version")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def collapse_copies(
    reports: Iterable[Report],
) -> tuple[list[Report], dict[str, tuple[str, ...]], list[str]]:
    """One copy per report id: (kept reports, relaying nodes per id, withdrawn ids).

    The highest version wins; among copies of that version the origin's own copy (no
    ``relayed_by``) wins, else the first seen. Reports without an id get ``row-<n>``.
    """
    best: dict[str, Report] = {}
    relays: dict[str, set[str]] = {}
    order: list[str] = []
    for n, report in enumerate(reports):
        rid = str(report.get("id") or f"row-{n}")
        if rid not in best:
            order.append(rid)
            best[rid] = report if report.get("id") else {**report, "id": rid}
            relays[rid] = set()
        else:
            current = best[rid]
            newer = _version(report) > _version(current)
            origin_copy = (
                _version(report) == _version(current)
                and not report.get("relayed_by")
                and bool(current.get("relayed_by"))
            )
            if newer or origin_copy:
                best[rid] = report
        for node in report.get("relayed_by") or ():
            relays[rid].add(str(node))
    kept: list[Report] = []
    withdrawn: list[str] = []
    for rid in order:
        if best[rid].get("status") == "withdrawn":
            withdrawn.append(rid)
        else:
            kept.append(best[rid])
    return kept, {rid: tuple(sorted(nodes)) for rid, nodes in relays.items()}, withdrawn


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _country(value: Any) -> str:
    return value.strip().upper() if isinstance(value, str) else ""


def party_names(name: str) -> list[str]:
    """The names one written party goes by: the name and any alias written inside it."""
    parts = _ALIAS_SPLIT.split(name)
    if len(parts) == 1:
        return [name]
    names = [p.strip(" ,.-/") for p in parts]
    return [p for p in names if p] or [name]


def _party(raw: Any, extra: Sequence[str] = ()) -> Party | None:
    names: list[str] = []
    country = ""
    if isinstance(raw, Mapping):
        name = _text(raw.get("name"))
        if name:
            names.extend(party_names(name))
        country = _country(raw.get("country"))
    names.extend(n for n in extra if n not in names)
    if not names:
        return None
    written: list[str] = []
    normalized: list[str] = []
    for name in names:
        norm = normalize_name(name)
        if norm and norm not in normalized:
            written.append(name)
            normalized.append(norm)
    if not normalized:
        return None
    return Party(tuple(written), tuple(normalized), country)


def _primary_key(category: Any) -> str:
    if category == "cloud_compute":
        return "customer"
    if category == "chip_diversion":
        return "consignee"
    return "organisation"


def _entity_names(report: Report, roles: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for entity in report.get("entities") or ():
        if (
            isinstance(entity, Mapping)
            and entity.get("kind") == "organisation"
            and entity.get("role") in roles
        ):
            name = _text(entity.get("name"))
            if name:
                out.append(name)
    return out


def model_family(model: str) -> str:
    """ "NVIDIA H100 SXM5 80GB" -> "H100": the first word with a digit, upper-case alnum."""
    upper = model.upper()
    match = _MODEL.search(_ALNUM.sub(" ", upper))
    return match.group(0) if match else _ALNUM.sub("", upper)


def _items(details: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str], int]:
    serials: set[str] = set()
    models: set[str] = set()
    quantity = 0
    for key in ("items", "chips", "chips_used"):
        for item in details.get(key) or ():
            if not isinstance(item, Mapping):
                continue
            model = _text(item.get("model"))
            if model:
                models.add(model_family(model))
            qty = item.get("quantity")
            if isinstance(qty, int) and not isinstance(qty, bool) and qty > 0:
                quantity += qty
            for serial in item.get("serials") or ():
                norm = _ALNUM.sub("", str(serial).upper())
                if len(norm) >= 4 and len(set(norm)) > 1:
                    serials.add(norm)
    return frozenset(serials), frozenset(models), quantity


def _day(value: Any) -> int | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]).toordinal()
    except ValueError:
        return None


def address_key(address: str, country: str) -> str:
    tokens = sorted({t for t in normalize_address(address).split() if t not in ADDRESS_SOFT})
    return " ".join(tokens) + "|" + country if tokens else ""


def extract(report: Report) -> Record:
    """The comparable fields of one report (missing or malformed fields are simply absent)."""
    details = report.get("details")
    if not isinstance(details, Mapping):
        details = {}
    category = str(report.get("category") or "")
    key = _primary_key(category)
    raw_party = details.get(key)
    roles = ("consignee",) if key == "consignee" else ("subject", "customer", "organisation")
    party = _party(raw_party, _entity_names(report, roles))
    address = _text(raw_party.get("address")) if isinstance(raw_party, Mapping) else ""
    serials, models, quantity = _items(details)
    ref = _ALNUM.sub("", _text(details.get("shipment_ref")).upper())
    route = tuple(_country(c) for c in details.get("route") or () if isinstance(c, str))
    intermediaries: list[tuple[str, str]] = []
    for entry in details.get("intermediaries") or ():
        if isinstance(entry, Mapping):
            name = _text(entry.get("name"))
            norm = normalize_name(name) if name else ""
            if norm:
                intermediaries.append((name, norm))
    markings = report.get("markings")
    level = str(markings.get("classification") or "") if isinstance(markings, Mapping) else ""
    event = _text(report.get("event_start"))
    suspected = _party(details.get("suspected_end_user"), _entity_names(report, ("end_user",)))
    if party is None:  # no consignee named: the suspected end user is who the case is about
        party, suspected = suspected, None
    return Record(
        id=str(report.get("id") or ""),
        level=level,
        category=category,
        party=party,
        address=address,
        address_key=address_key(address, party.country if party else "") if address else "",
        suspected=suspected,
        declared=_party(details.get("declared_end_user")),
        intermediaries=tuple(intermediaries),
        serials=serials,
        shipment_ref=ref if len(ref) >= 3 else "",
        models=models,
        quantity=quantity,
        route=route,
        day=_day(event),
        event=event,
    )


def record_names(rec: Record) -> list[str]:
    names: list[str] = []
    for party in (rec.party, rec.suspected, rec.declared):
        if party is not None:
            names.extend(party.written)
    names.extend(written for written, _norm in rec.intermediaries)
    return names


def report_names(report: Report) -> list[str]:
    """Every party name of a report as written (what ``NameStats`` counts)."""
    return record_names(extract(report))


def report_addresses(report: Report) -> list[str]:
    """The address keys of a report (what ``NameStats`` counts for mass registration)."""
    rec = extract(report)
    return [rec.address_key] if rec.address_key else []
