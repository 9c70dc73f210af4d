"""What the analyst typed, as nested text: read from the form's POST or from a stored
version, and kept verbatim when it does not validate (nothing typed is lost on an error).

Every input is named by its dotted path in the report ("details.items.0.quantity"); the
details' inputs are those the category's description lists."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import QueryDict

from core.markings import Classification
from reports.categories import CATEGORIES, Detail, Kind
from reports.models import Category
from reports.services import ReportContent

Raw = dict[str, Any]

ENTITY_FIELDS = ("kind", "name", "role", "country")
_INDEXED = re.compile(r"^(?P<base>.+)\.(?P<index>\d+)\.(?P<leaf>[a-z_]+)$")


def _repeated(category: str, base: str) -> Detail | None:
    """The repeated group a form name such as "details.items" stands for, if any."""
    for detail in CATEGORIES[category].fields:
        if detail.group is not None and detail.many and base == f"details.{detail.name}":
            return detail
    return None


def _blank(detail: Detail) -> Any:
    """The raw state of a field nothing was typed into."""
    if detail.many and (detail.group is not None or detail.kind is Kind.CHOICE):
        return []
    if detail.group is not None:
        return {leaf.name: _blank(leaf) for leaf in detail.group.fields}
    return ""


def _blank_details(category: str) -> Raw:
    return {detail.name: _blank(detail) for detail in CATEGORIES[category].fields}


def empty_raw(origin: str, category: str | None = None) -> Raw:
    """A new report's form (of a chip diversion unless `category` says otherwise)."""
    category = category or Category.CHIP_DIVERSION.value
    return {
        "title": "",
        "summary": "",
        "category": category,
        "classification": Classification.OFFICIAL.name,
        "rel_to": [origin],
        "orcon": False,
        "tlp": "amber",
        "source_reliability": "",
        "info_credibility": "",
        "event_start": "",
        "event_end": "",
        "change_note": "",
        "entities": [],
        "details": _blank_details(category),
    }


def _rows(data: QueryDict, base: str, leaves: Iterable[str]) -> list[dict[str, str]]:
    """Rows of a repeated group in index order, blank rows dropped (indices renumbered)."""
    found: dict[int, dict[str, str]] = {}
    prefix = f"{base}."
    for key in data:
        if not key.startswith(prefix):
            continue
        match = _INDEXED.match(key)
        if match is None or match["base"] != base or match["leaf"] not in leaves:
            continue
        found.setdefault(int(match["index"]), {})[match["leaf"]] = data.get(key, "").strip()
    rows = []
    for index in sorted(found):
        row = {leaf: found[index].get(leaf, "") for leaf in leaves}
        if any(row.values()):
            rows.append(row)
    return rows


def _posted(data: QueryDict, detail: Detail, path: str) -> Any:
    """What was typed into one field's inputs: a group's by its fields, a repeated group's by
    row (blank rows dropped), ticked boxes as a list, any other as its text."""
    if detail.group is not None and detail.many:
        return _rows(data, path, [leaf.name for leaf in detail.group.fields])
    if detail.group is not None:
        return {
            leaf.name: _posted(data, leaf, f"{path}.{leaf.name}") for leaf in detail.group.fields
        }
    if detail.kind is Kind.CHOICE and detail.many:
        return [value for value in data.getlist(path) if value]
    return data.get(path, "").strip()


def raw_from_post(data: QueryDict, origin: str) -> Raw:
    raw = empty_raw(origin)
    for name in (
        "title",
        "summary",
        "category",
        "classification",
        "tlp",
        "source_reliability",
        "info_credibility",
        "event_start",
        "event_end",
        "change_note",
    ):
        raw[name] = data.get(name, "").strip()
    if raw["category"] not in Category.values:
        raw["category"] = Category.OTHER.value
    raw["rel_to"] = [token.strip().lower() for token in data.getlist("rel_to") if token.strip()]
    raw["orcon"] = data.get("orcon") in ("on", "true", "1")
    raw["entities"] = _rows(data, "entities", ENTITY_FIELDS)
    raw["details"] = {
        detail.name: _posted(data, detail, f"details.{detail.name}")
        for detail in CATEGORIES[raw["category"]].fields
    }
    return raw


def _as_typed(detail: Detail, value: Any) -> Any:
    """A stored value as the analyst would type it: lists of text joined with commas."""
    if detail.group is not None and detail.many:
        return [_group_as_typed(detail, item) for item in value or []]
    if detail.group is not None:
        return _group_as_typed(detail, value)
    if detail.kind is Kind.CHOICE and detail.many:
        return list(value or [])
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


def _group_as_typed(detail: Detail, value: Any) -> dict[str, Any]:
    assert detail.group is not None
    given = value if isinstance(value, Mapping) else {}
    return {leaf.name: _as_typed(leaf, given.get(leaf.name)) for leaf in detail.group.fields}


def raw_from_content(content: ReportContent) -> Raw:
    """Pre-fill the editor from a stored version."""
    details = content.details
    return {
        "title": content.title,
        "summary": content.summary,
        "category": content.category,
        "classification": content.classification,
        "rel_to": list(content.rel_to),
        "orcon": content.orcon,
        "tlp": content.tlp,
        "source_reliability": content.source_reliability,
        "info_credibility": str(content.info_credibility),
        "event_start": content.event_start.isoformat() if content.event_start else "",
        "event_end": content.event_end.isoformat() if content.event_end else "",
        "change_note": "",
        "entities": [
            {"kind": e.kind, "name": e.name, "role": e.role, "country": e.country}
            for e in content.entities
        ],
        "details": {
            detail.name: _as_typed(detail, details.get(detail.name))
            for detail in CATEGORIES[content.category].fields
        },
    }


def add_row(raw: Raw, base: str) -> None:
    """The "add another" buttons: one more blank row in a repeated group."""
    if base == "entities":
        raw["entities"].append(dict.fromkeys(ENTITY_FIELDS, ""))
        return
    detail = _repeated(raw["category"], base)
    if detail is not None:
        raw["details"].setdefault(detail.name, []).append(blank_row(detail))


def blank_row(detail: Detail) -> dict[str, str]:
    assert detail.group is not None
    return {leaf.name: "" for leaf in detail.group.fields}


def remove_row(raw: Raw, base: str, index: int) -> None:
    rows = raw["entities"] if base == "entities" else raw["details"].get(base.split(".", 1)[1])
    if isinstance(rows, list) and 0 <= index < len(rows):
        rows.pop(index)
