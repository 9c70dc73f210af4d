"""What a case row says about its reports: a descriptive title (who and what, not one member's
title), its category, countries, origins and latest event.

The title names the party the reports share (the consignee, cloud customer or organisation, as
most of them write it) and the chips most of them name, so it does not change when one more
report about the same shipment arrives, and two cases about the same party can still be told
apart by their chips. A case whose reports name no party falls back to its first-filed report's
title, which a later report does not change either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from reports.details import countries_named

from .linking import level_of, report_keys

Doc = Mapping[str, Any]
PARTIES = {
    "chip_diversion": ("consignee", "suspected_end_user", "declared_end_user"),
    "cloud_compute": ("customer", "provider"),
    "military_ai": ("organisation",),
}
DEFAULT_PARTIES = ("organisation", "consignee", "customer")


def _most_common(values: Iterable[str]) -> str | None:
    """The value most reports give (spellings told apart only by case count as one), written
    as most of them write it; ties go to the first seen."""
    spellings: dict[str, Counter[str]] = {}
    order: list[str] = []
    for value in values:
        text = " ".join(value.split())
        if not text:
            continue
        key = text.casefold()
        if key not in spellings:
            spellings[key] = Counter()
            order.append(key)
        spellings[key][text] += 1
    if not order:
        return None
    best = max(order, key=lambda key: (sum(spellings[key].values()), -order.index(key)))
    return spellings[best].most_common(1)[0][0]


def _party(docs: Sequence[Doc], category: str) -> str | None:
    for field in PARTIES.get(category, DEFAULT_PARTIES):
        names: list[str] = []
        countries: list[str] = []
        for doc in docs:
            party = (doc.get("details") or {}).get(field)
            if isinstance(party, Mapping) and isinstance(party.get("name"), str):
                names.append(party["name"])
                if isinstance(party.get("country"), str):
                    countries.append(party["country"])
        name = _most_common(names)
        if name:
            country = _most_common(countries)
            return f"{name} ({country})" if country else name
    return None


def _chips(docs: Sequence[Doc]) -> list[str]:
    models: Counter[str] = Counter()
    for doc in docs:
        details = doc.get("details") or {}
        for item in details.get("items") or []:
            if isinstance(item, Mapping) and isinstance(item.get("model"), str):
                models[" ".join(item["model"].split())] += 1
        chips = details.get("chips")
        if isinstance(chips, str):
            models[chips] += 1
        elif isinstance(chips, list):
            models.update(str(c) for c in chips if isinstance(c, str))
    return [name for name, _ in sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))[:2]]


def case_title(docs: Sequence[Doc], category: str) -> str:
    docs = sorted(
        docs, key=lambda d: (d.get("reported_at") or "", str(d["id"]))
    )  # ties: first filed
    party = _party(docs, category)
    chips = _chips(docs)
    if party:
        return (f"{party} · {', '.join(chips)}" if chips else party)[:200]
    title = str(docs[0].get("title") or "")
    return (f"{title} · {', '.join(chips)}" if chips and not title else title)[:200] or "Case"


def case_countries(docs: Iterable[Doc]) -> list[str]:
    """The same extractor as the report filter's (`reports.details.countries_named`)."""
    found: set[str] = set()
    for doc in docs:
        found.update(countries_named(str(doc.get("category")), doc.get("details") or {}))
    return sorted(found)


def _latest_event(docs: Iterable[Doc]) -> date | None:
    values = [d.get("event_end") or d.get("event_start") for d in docs]
    latest = max((v for v in values if v), default=None)
    return date.fromisoformat(latest) if latest else None


def describe_case(docs: Sequence[Doc], links: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    categories = {str(d["category"]) for d in docs}
    category = categories.pop() if len(categories) == 1 else "mixed"
    return {
        "title": case_title(docs, category),
        "category": category,
        "classification": level_of(docs[0]),
        "keys": sorted({k for d in docs for k in report_keys(d)}),
        "countries": case_countries(docs),
        "origins": sorted({str(d["origin"]) for d in docs}),
        "report_count": len(docs),
        "links": [dict(link) for link in links],
        "latest_event": _latest_event(docs),
    }
