"""The report editor's form: what the analyst typed (kept as text, so nothing is lost on an
error), the fields to render per category, and the conversion to `reports.services.ReportContent`.

The details part of all three is walked from the category's description
(`reports.categories`), the one the API's details schema is built from too.

Every input is named by its dotted path in the report ("details.items.0.quantity"), the same
path the services use in their `ValidationError`s, so each error lands next to its field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.http import QueryDict

from core.errors import flatten_errors
from core.markings import Classification, Marking, MarkingError, build_marking
from core.nodes import NODE_DIRECTORY
from reports.categories import CATEGORIES, CategoryDetails, Detail, Kind
from reports.details import validate_details
from reports.models import (
    CREDIBILITY_CHOICES,
    TLP_CHOICES,
    Category,
    EntityKind,
    EntityRole,
    Reliability,
)
from reports.services import EntityInput, ReportContent

from .countries import UnknownCountry, parse_country

Raw = dict[str, Any]
Errors = dict[str, list[str]]

ENTITY_FIELDS = ("kind", "name", "role", "country")
PARTY_LABELS = {
    "consignee": "Consignee",
    "declared_end_user": "Declared end user",
    "suspected_end_user": "Suspected end user",
    "organisation": "Organisation",
    "provider": "Cloud provider",
    "customer": "Customer",
}
_INDEXED = re.compile(r"^(?P<base>.+)\.(?P<index>\d+)\.(?P<leaf>[a-z_]+)$")
_STOP_SEPARATOR = re.compile(r"\s*(?:[,;>→/]|->|–|—)\s*")
_SEPARATORS = re.compile(r"(?<=\d)[,\s\u00a0\u202f'_](?=\d{3})")
_LIST_SEPARATOR = re.compile(r"[\s,;]+")


def node_name(code: str) -> str:
    known = NODE_DIRECTORY.get(code)
    return known.name if known else code.upper()


def description(category: str) -> CategoryDetails:
    """The details description of a category (raw state holds a known one)."""
    return CATEGORIES[category]


def _repeated(category: str, base: str) -> Detail | None:
    """The repeated group a form name such as "details.items" stands for, if any."""
    for detail in description(category).fields:
        if detail.group is not None and detail.many and base == f"details.{detail.name}":
            return detail
    return None


# --------------------------------------------------------------------------------------------
# Raw state: what the user typed, as nested text
# --------------------------------------------------------------------------------------------


def _blank(detail: Detail) -> Any:
    """The raw state of a field nothing was typed into."""
    if detail.many and (detail.group is not None or detail.kind is Kind.CHOICE):
        return []
    if detail.group is not None:
        return {leaf.name: _blank(leaf) for leaf in detail.group.fields}
    return ""


def blank_details(category: str) -> Raw:
    return {detail.name: _blank(detail) for detail in description(category).fields}


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
        "details": blank_details(category),
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
    """What was typed into the inputs of one field (a repeated group's rows each typed into
    one text box a field)."""
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
        for detail in description(raw["category"]).fields
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
            for detail in description(content.category).fields
        },
    }


def add_row(raw: Raw, base: str) -> None:
    """The "add another" buttons: one more blank row in a repeated group."""
    if base == "entities":
        raw["entities"].append(dict.fromkeys(ENTITY_FIELDS, ""))
        return
    detail = _repeated(raw["category"], base)
    if detail is not None:
        raw["details"].setdefault(detail.name, []).append(_blank_row(detail))


def _blank_row(detail: Detail) -> dict[str, str]:
    assert detail.group is not None
    return {leaf.name: "" for leaf in detail.group.fields}


def remove_row(raw: Raw, base: str, index: int) -> None:
    rows = raw["entities"] if base == "entities" else raw["details"].get(base.split(".", 1)[1])
    if isinstance(rows, list) and 0 <= index < len(rows):
        rows.pop(index)


# --------------------------------------------------------------------------------------------
# Raw state to ReportContent, collecting every error by dotted path
# --------------------------------------------------------------------------------------------

_ABSENT: Any = object()  # a field left out of the details (nothing typed, not required)


def _split_route(text: str) -> list[str]:
    """Stops of a route as typed: "US, SG, MY" or "United States > Hong Kong > China" or
    "US SG CN" (spaces separate stops only when nothing else does, so "Hong Kong" stays one)."""
    if _STOP_SEPARATOR.search(text):
        return [token.strip() for token in _STOP_SEPARATOR.split(text) if token.strip()]
    return [token for token in text.split() if token]


def _country(text: str, path: str, errors: Errors) -> str:
    """The ISO code for a country as typed (name or code); an error at `path` otherwise."""
    try:
        return parse_country(text)
    except UnknownCountry as exc:
        errors.setdefault(path, []).append(str(exc))
        return ""


def _number(text: str) -> str:
    """A whole number as typed, without its digit-group separators ("12,000,000", "12 000 000",
    "12'000'000", "12_000_000"); anything else is left for the schema to refuse by name."""
    cleaned = _SEPARATORS.sub("", text.strip())
    return cleaned if cleaned.isdigit() else text.strip()


def _value(detail: Detail, text: str, path: str, errors: Errors) -> Any:
    """One typed value as the details schema takes it. Numbers stay text (separators taken
    out): the schema parses them and names the field when one is not a number."""
    if detail.kind is Kind.INTEGER:
        return _number(text)
    if detail.kind is Kind.COUNTRY:
        return _country(text, path, errors) or _ABSENT
    return text


def _list(detail: Detail, typed: Any, path: str, errors: Errors) -> list[Any]:
    if detail.group is not None:
        return [_group(detail, row, f"{path}.{i}", errors) for i, row in enumerate(typed or [])]
    if detail.kind is Kind.CHOICE:
        return list(typed or [])
    text = typed or ""
    items = _split_route(text) if detail.kind is Kind.COUNTRY else _LIST_SEPARATOR.split(text)
    values = []
    for index, item in enumerate(i for i in items if i):
        value = _value(detail, item, f"{path}.{index}", errors)
        # An unknown country keeps its place, so the stops after it keep their numbers.
        values.append(item.upper() if value is _ABSENT else value)
    return values


def _group(detail: Detail, typed: Any, path: str, errors: Errors) -> dict[str, Any]:
    assert detail.group is not None
    return _fields(detail.group.fields, typed or {}, path, errors)


def _converted(detail: Detail, typed: Any, path: str, errors: Errors) -> Any:
    if detail.many:
        return _list(detail, typed, path, errors)
    if detail.group is not None:
        if not detail.required and not any((typed or {}).values()):
            return _ABSENT
        return _group(detail, typed, path, errors)
    if not typed:
        # left blank: a required field goes to the schema, which says so at its path
        return "" if detail.required else _ABSENT
    return _value(detail, typed, path, errors)


def _fields(
    fields: Iterable[Detail], source: Mapping[str, Any], prefix: str, errors: Errors
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for detail in fields:
        value = _converted(detail, source.get(detail.name), f"{prefix}.{detail.name}", errors)
        if value is not _ABSENT:
            out[detail.name] = value
    return out


def details_from_raw(raw: Raw, errors: Errors | None = None) -> dict[str, Any]:
    """The details object the services validate, by the category's description. Countries are
    read from names or codes; one that names no country goes to `errors`."""
    errors = {} if errors is None else errors
    return _fields(description(raw["category"]).fields, raw["details"], "details", errors)


def _date(raw: Raw, name: str, errors: Errors) -> date | None:
    text = raw.get(name) or ""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.setdefault(name, []).append("Enter a date as YYYY-MM-DD, e.g. 2026-09-01")
        return None


def _check_marking(raw: Raw, origin: str, errors: Errors) -> Marking | None:
    try:
        return build_marking(
            classification=raw["classification"],
            rel_to=raw["rel_to"],
            orcon=raw["orcon"],
            tlp=raw["tlp"],
            origin=origin,
        )
    except MarkingError as exc:
        errors.setdefault(exc.field, []).append(exc.message)
        return None


def marking_of(raw: Raw, origin: str) -> tuple[Marking | None, str]:
    """The marking the form describes, or None and why not (for the live preview)."""
    errors: Errors = {}
    marking = _check_marking(raw, origin, errors)
    return marking, "; ".join(message for messages in errors.values() for message in messages)


def _check_texts(raw: Raw, errors: Errors) -> None:
    if not raw["title"]:
        errors["title"] = ["Give the report a title"]
    elif len(raw["title"]) > 200:
        errors["title"] = ["At most 200 characters"]
    if not raw["summary"]:
        errors["summary"] = ["Write a summary"]
    elif len(raw["summary"]) > 20_000:
        errors["summary"] = ["At most 20,000 characters"]


def _credibility(raw: Raw, errors: Errors) -> int:
    if raw["source_reliability"] not in Reliability.values:
        errors["source_reliability"] = ["Choose the source reliability (A to F)"]
    if raw["info_credibility"] not in {str(value) for value, _ in CREDIBILITY_CHOICES}:
        errors["info_credibility"] = ["Choose the information credibility (1 to 6)"]
        return 0
    return int(raw["info_credibility"])


def _dates(raw: Raw, errors: Errors) -> tuple[date | None, date | None]:
    start = _date(raw, "event_start", errors)
    end = _date(raw, "event_end", errors)
    if start and end and end < start:
        errors["event_end"] = ["The end is before the start"]
    return start, end


def _entities_of(raw: Raw, errors: Errors) -> list[EntityInput]:
    entities = []
    for index, row in enumerate(raw["entities"]):
        where = f"entities.{index}"
        if row["kind"] not in EntityKind.values:
            errors[f"{where}.kind"] = ["Choose what kind of entity this is"]
        if row["role"] not in EntityRole.values:
            errors[f"{where}.role"] = ["Choose the entity's role"]
        if not row["name"]:
            errors[f"{where}.name"] = ["Give the entity's name"]
        elif len(row["name"]) > 300:
            errors[f"{where}.name"] = ["At most 300 characters"]
        country = _country(row["country"], f"{where}.country", errors)
        entities.append(EntityInput(row["kind"], row["name"], row["role"], country))
    return entities


def _checked_details(raw: Raw, errors: Errors) -> dict[str, Any]:
    """The details, checked by the schema the API uses; its errors added to `errors`."""
    details = details_from_raw(raw, errors)
    try:
        validate_details(raw["category"], details)
    except Exception as exc:  # the DRF error carries the field structure
        detail = getattr(exc, "detail", None)
        if detail is None:
            raise
        for path, messages in flatten_errors(detail).items():
            errors.setdefault(path, []).extend(messages)
    return details


def content_from_raw(raw: Raw, origin: str) -> ReportContent:
    """Check everything that can be checked without the database and build the content.

    Raises ValidationError({dotted.path: [messages]}) with every problem found at once."""
    errors: Errors = {}
    _check_texts(raw, errors)
    credibility = _credibility(raw, errors)
    if len(raw["change_note"]) > 500:
        errors["change_note"] = ["At most 500 characters"]
    start, end = _dates(raw, errors)
    _check_marking(raw, origin, errors)
    entities = _entities_of(raw, errors)
    details = _checked_details(raw, errors)
    if errors:
        raise ValidationError(errors)
    return ReportContent(
        title=raw["title"],
        summary=raw["summary"],
        category=raw["category"],
        classification=raw["classification"],
        rel_to=list(raw["rel_to"]),
        orcon=bool(raw["orcon"]),
        tlp=raw["tlp"],
        source_reliability=raw["source_reliability"],
        info_credibility=credibility,
        details=details,
        event_start=start,
        event_end=end,
        entities=entities,
        change_note=raw["change_note"],
    )


def errors_of(exc: ValidationError | MarkingError) -> Errors:
    """Any error the services raise, as {dotted.path: [messages]}."""
    if isinstance(exc, MarkingError):
        return {exc.field: [exc.message]}
    if hasattr(exc, "error_dict"):
        return {path: [str(m) for m in messages] for path, messages in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


# --------------------------------------------------------------------------------------------
# Fields to render
# --------------------------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    label: str
    value: str = ""
    widget: str = "text"  # text, textarea, select, number, date, checkboxes, radios, checkbox
    choices: list[tuple[str, str]] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    help: str = ""
    required: bool = False
    datalist: str = ""
    maxlength: int | None = None
    inputmode: str = ""
    wide: bool = False

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")

    @property
    def checked(self) -> bool:
        return self.value in ("on", "true", "True", "1")


@dataclass
class Row:
    index: int
    prefix: str
    fields: list[Field]

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass
class Repeat:
    """A repeated group (items, intermediaries, chips, entities): one row of fields each."""

    name: str
    legend: str
    add_label: str
    rows: list[Row]
    row_label: str = "Row"  # what one row is called in an error ("Item", "Intermediary")
    errors: list[str] = field(default_factory=list)
    chip_rows: bool = False  # rows that pick a chip (model, quantity first) and show a verdict


@dataclass
class Section:
    legend: str
    fields: list[Field] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Layout:
    details: list[Section]
    entities: Repeat
    summary: list[tuple[str, str, str]]  # (field id or "", label, message) for the error summary
    unplaced: list[str]


CHOOSE = ("", "Choose…")
WIDGETS = {Kind.LONG_TEXT: "textarea", Kind.INTEGER: "number", Kind.CHOICE: "select"}
# The longest country name analysts type ("Saint Vincent and the Grenadines" and the like).
COUNTRY_MAXLENGTH = 60


def _input(detail: Detail, name: str, value: Any, required: bool) -> Field:
    """The input of one described field, with what was typed in it."""
    if detail.kind is Kind.CHOICE and detail.many:
        return Field(
            name,
            detail.label,
            widget="checkboxes",
            wide=True,
            help=detail.help,
            choices=list(detail.choices),
            selected=list(value or []),
        )
    one = not detail.many  # a list of values is typed into one box, separated
    kind = detail.kind
    return Field(
        name,
        detail.label,
        value or "",
        widget=WIDGETS.get(kind, "text"),
        required=required,
        help=detail.help,
        choices=[CHOOSE, *detail.choices] if kind is Kind.CHOICE else [],
        datalist=(
            "chip-models"
            if kind is Kind.CHIP
            else "countries"
            if kind is Kind.COUNTRY and one
            else ""
        ),
        maxlength=(
            COUNTRY_MAXLENGTH
            if kind is Kind.COUNTRY and one
            else detail.max_length
            if kind in (Kind.TEXT, Kind.LONG_TEXT, Kind.CHIP) and one
            else None
        ),
        inputmode="numeric" if kind is Kind.INTEGER else "",
        wide=kind is Kind.LONG_TEXT,
    )


def _group_section(detail: Detail, typed: Mapping[str, Any], path: str) -> Section:
    """A single group (a party) is a section of its own; its fields are required only when
    the group is."""
    assert detail.group is not None
    return Section(
        legend=detail.label + ("" if detail.required else " (optional)"),
        fields=[
            _input(
                leaf, f"{path}.{leaf.name}", typed.get(leaf.name), leaf.required and detail.required
            )
            for leaf in detail.group.fields
        ],
    )


def _repeat(detail: Detail, rows: list[dict[str, Any]], path: str) -> Repeat:
    """A repeated group, at least as many rows shown as the group needs."""
    assert detail.group is not None
    leaves = detail.group.fields
    shown = rows or [_blank_row(detail) for _ in range(detail.min_items)]
    return Repeat(
        path,
        detail.label,
        detail.add_label,
        [
            Row(
                index,
                f"{path}.{index}",
                [
                    _input(leaf, f"{path}.{index}.{leaf.name}", row.get(leaf.name), leaf.required)
                    for leaf in leaves
                ],
            )
            for index, row in enumerate(shown)
        ],
        row_label=detail.row_label,
        chip_rows=leaves[0].kind is Kind.CHIP,
    )


def _details_sections(raw: Raw) -> list[Section]:
    """The category's described fields in order: each single group a section, the other
    fields in the section they name (a section appears where its first field does)."""
    typed: Raw = raw["details"]
    sections: list[Section] = []
    named: dict[str, Section] = {}
    for detail in description(raw["category"]).fields:
        path = f"details.{detail.name}"
        value = typed.get(detail.name)
        if detail.group is not None and not detail.many:
            sections.append(_group_section(detail, value or {}, path))
            continue
        legend = detail.section or detail.label
        if legend not in named:
            named[legend] = Section(legend)
            sections.append(named[legend])
        if detail.group is not None:
            named[legend].repeats.append(_repeat(detail, value or [], path))
        else:
            named[legend].fields.append(_input(detail, path, value, detail.required))
    return sections


def _entities(raw: Raw) -> Repeat:
    rows = []
    for index, row in enumerate(raw["entities"]):
        prefix = f"entities.{index}"
        rows.append(
            Row(
                index,
                prefix,
                [
                    Field(
                        f"{prefix}.kind",
                        "Kind",
                        row.get("kind", ""),
                        widget="select",
                        choices=[("", "Choose…"), *EntityKind.choices],
                    ),
                    Field(f"{prefix}.name", "Name", row.get("name", ""), maxlength=300),
                    Field(
                        f"{prefix}.role",
                        "Role",
                        row.get("role", ""),
                        widget="select",
                        choices=[("", "Choose…"), *EntityRole.choices],
                    ),
                    Field(
                        f"{prefix}.country",
                        "Country",
                        row.get("country", ""),
                        datalist="countries",
                        maxlength=60,
                    ),
                ],
            )
        )
    return Repeat(
        "entities", "Other entities (officers, subjects…)", "Add an entity", rows, "Entity"
    )


def _full_labels(sections: Iterable[Section], entities: Repeat) -> dict[str, str]:
    """Each details or entity field's label with where it sits (Consignee > Name,
    Intermediary 2 > Country, with a chevron), so an error names which name it is about."""
    labels: dict[str, str] = {}
    for section in sections:
        place = section.legend.removesuffix(" (optional)")
        for item in section.fields:
            labels[item.name] = item.label if item.label == place else f"{place} › {item.label}"
        for repeat in section.repeats:
            for row in repeat.rows:
                for item in row.fields:
                    labels[item.name] = f"{repeat.row_label} {row.number} › {item.label}"
    for row in entities.rows:
        for item in row.fields:
            labels[item.name] = f"Entity {row.number} › {item.label}"
    return labels


def _all_fields(sections: Iterable[Section], repeats: Iterable[Repeat]) -> list[Field]:
    fields: list[Field] = []
    for section in sections:
        fields.extend(section.fields)
        for repeat in section.repeats:
            for row in repeat.rows:
                fields.extend(row.fields)
    for repeat in repeats:
        for row in repeat.rows:
            fields.extend(row.fields)
    return fields


def layout(raw: Raw, errors: Errors, top_fields: Iterable[Field]) -> Layout:
    """Place every error next to its field; an error for a list element goes to its list
    (route stop 3, red flag 2), and what matches nothing is listed at the top."""
    sections = _details_sections(raw)
    entities = _entities(raw)
    fields = [*top_fields, *_all_fields(sections, [entities])]
    by_name = {f.name: f for f in fields}
    labels = _full_labels(sections, entities)
    repeats = {r.name: r for s in sections for r in s.repeats}
    repeats["entities"] = entities
    summary: list[tuple[str, str, str]] = []
    unplaced: list[str] = []
    for path, messages in errors.items():
        for message in messages:
            target = by_name.get(path)
            if target is None:
                parts = path.split(".")
                while parts and ".".join(parts) not in by_name and ".".join(parts) not in repeats:
                    parts.pop()
                stem = ".".join(parts)
                extra = path[len(stem) + 1 :] if stem else ""
                text = f"item {int(extra) + 1}: {message}" if extra.isdigit() else message
                if stem in by_name:
                    by_name[stem].errors.append(text)
                    summary.append((by_name[stem].id, labels.get(stem, by_name[stem].label), text))
                    continue
                if stem in repeats:
                    repeats[stem].errors.append(text)
                    summary.append(("", repeats[stem].legend, text))
                    continue
                unplaced.append(message if path in ("__all__", "detail") else f"{path}: {message}")
                continue
            target.errors.append(message)
            summary.append((target.id, labels.get(path, target.label), message))
    return Layout(details=sections, entities=entities, summary=summary, unplaced=unplaced)


def top_fields(raw: Raw, clearance: Classification) -> list[Field]:
    """Title, summary, markings and evaluation fields."""
    groups = sorted(NODE_DIRECTORY.groups())
    return [
        Field("title", "Title", raw["title"], required=True, maxlength=200, wide=True),
        Field(
            "summary",
            "Summary",
            raw["summary"],
            widget="textarea",
            required=True,
            maxlength=20_000,
            wide=True,
        ),
        Field(
            "category",
            "Category",
            raw["category"],
            widget="select",
            choices=list(Category.choices),
            required=True,
        ),
        Field(
            "classification",
            "Classification",
            raw["classification"],
            widget="select",
            choices=[(c.name, c.name) for c in Classification if c <= clearance],
            required=True,
            help="Levels above your clearance are not offered",
        ),
        Field(
            "rel_to",
            "Releasable to (REL TO)",
            widget="checkboxes",
            choices=[(g, f"{g.upper()} (group)") for g in groups]
            + [(n, f"{n.upper()} – {node_name(n)}") for n in NODE_DIRECTORY.codes()],
            selected=list(raw["rel_to"]),
        ),
        Field(
            "orcon",
            "ORCON (originator controls further dissemination)",
            "on" if raw["orcon"] else "",
            widget="checkbox",
        ),
        Field(
            "tlp",
            "TLP",
            raw["tlp"],
            widget="radios",
            choices=list(TLP_CHOICES),
        ),
        Field(
            "source_reliability",
            "Source reliability",
            raw["source_reliability"],
            widget="select",
            choices=[("", "Choose…"), *Reliability.choices],
            required=True,
        ),
        Field(
            "info_credibility",
            "Information credibility",
            raw["info_credibility"],
            widget="select",
            choices=[("", "Choose…"), *((str(v), label) for v, label in CREDIBILITY_CHOICES)],
            required=True,
        ),
        Field("event_start", "Event start", raw["event_start"], widget="date"),
        Field("event_end", "Event end", raw["event_end"], widget="date"),
        Field(
            "change_note",
            "Change note",
            raw["change_note"],
            maxlength=500,
            help="What changed in this version",
            wide=True,
        ),
    ]
