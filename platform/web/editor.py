"""The report editor's form: what the analyst typed (kept as text, so nothing is lost on an
error), the fields to render per category, and the conversion to `reports.services.ReportContent`.

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
from reports.categories import INTERMEDIARY_ROLE_CHOICES, RED_FLAG_CHOICES
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
from .labels import INTERMEDIARY_ROLE_LABELS, RED_FLAG_LABELS

Raw = dict[str, Any]
Errors = dict[str, list[str]]

PARTY_FIELDS = ("name", "address", "country")
REPEATS: dict[str, dict[str, tuple[str, ...]]] = {
    "chip_diversion": {
        "details.items": ("model", "quantity", "serials"),
        "details.intermediaries": ("name", "role", "country", "address"),
    },
    "military_ai": {"details.chips_used": ("model", "quantity")},
    "cloud_compute": {"details.chips": ("model", "quantity")},
}
PARTIES: dict[str, tuple[str, ...]] = {
    "chip_diversion": ("consignee", "declared_end_user", "suspected_end_user"),
    "military_ai": ("organisation",),
    "cloud_compute": ("provider", "customer"),
}
REQUIRED_PARTIES = {"organisation": {"military_ai"}, "provider": {"cloud_compute"}}
REQUIRED_PARTIES["customer"] = {"cloud_compute"}
SCALARS: dict[str, tuple[str, ...]] = {
    "chip_diversion": ("route", "value_usd", "eccn", "shipment_ref"),
    "military_ai": ("capability", "training_compute_flop"),
    "cloud_compute": ("gpu_hours",),
}
GENERIC_CATEGORIES = {"model_weights", "ai_incident", "other"}
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


def node_name(code: str) -> str:
    known = NODE_DIRECTORY.get(code)
    return known.name if known else code.upper()


def details_category(category: str) -> str:
    """The details schema a category uses (several share the generic one)."""
    return "generic" if category in GENERIC_CATEGORIES else category


# --------------------------------------------------------------------------------------------
# Raw state: what the user typed, as nested text
# --------------------------------------------------------------------------------------------


def empty_raw(origin: str) -> Raw:
    return {
        "title": "",
        "summary": "",
        "category": Category.CHIP_DIVERSION.value,
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
        "details": {},
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
    kind = details_category(raw["category"])
    details: Raw = {}
    for party in PARTIES.get(kind, ("organisation",) if kind == "generic" else ()):
        details[party] = {
            leaf: data.get(f"details.{party}.{leaf}", "").strip() for leaf in PARTY_FIELDS
        }
    for base, leaves in REPEATS.get(kind, {}).items():
        details[base.split(".", 1)[1]] = _rows(data, base, leaves)
    for name in SCALARS.get(kind, ()):
        details[name] = data.get(f"details.{name}", "").strip()
    if kind == "generic":
        details["description"] = data.get("details.description", "").strip()
    details["red_flags"] = [flag for flag in data.getlist("details.red_flags") if flag]
    raw["details"] = details
    return raw


def raw_from_content(content: ReportContent) -> Raw:
    """Pre-fill the editor from a stored version."""
    details = content.details
    kind = details_category(content.category)
    out: Raw = {}
    for party in PARTIES.get(kind, ("organisation",) if kind == "generic" else ()):
        value = details.get(party) or {}
        out[party] = {leaf: str(value.get(leaf) or "") for leaf in PARTY_FIELDS}
    for base, leaves in REPEATS.get(kind, {}).items():
        key = base.split(".", 1)[1]
        rows = []
        for item in details.get(key) or []:
            row = {}
            for leaf in leaves:
                value = item.get(leaf)
                row[leaf] = ", ".join(value) if isinstance(value, list) else str(value or "")
            rows.append(row)
        out[key] = rows
    for name in SCALARS.get(kind, ()):
        value = details.get(name)
        if isinstance(value, list):
            out[name] = ", ".join(value)
        else:
            out[name] = "" if value is None else str(value)
    if kind == "generic":
        out["description"] = str(details.get("description") or "")
    out["red_flags"] = list(details.get("red_flags") or [])
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
        "details": out,
    }


def add_row(raw: Raw, base: str) -> None:
    """The "add another" buttons: one more blank row in a repeated group."""
    kind = details_category(raw["category"])
    if base == "entities":
        raw["entities"].append(dict.fromkeys(ENTITY_FIELDS, ""))
        return
    leaves = REPEATS.get(kind, {}).get(base)
    if leaves is not None:
        raw["details"].setdefault(base.split(".", 1)[1], []).append(dict.fromkeys(leaves, ""))


def remove_row(raw: Raw, base: str, index: int) -> None:
    rows = raw["entities"] if base == "entities" else raw["details"].get(base.split(".", 1)[1])
    if isinstance(rows, list) and 0 <= index < len(rows):
        rows.pop(index)


# --------------------------------------------------------------------------------------------
# Raw state to ReportContent, collecting every error by dotted path
# --------------------------------------------------------------------------------------------


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


def _party(
    value: Mapping[str, str], required: bool, path: str, errors: Errors
) -> dict[str, Any] | None:
    if not required and not any(value.get(leaf) for leaf in PARTY_FIELDS):
        return None
    party: dict[str, Any] = {"name": value.get("name", "")}
    if value.get("address"):
        party["address"] = value["address"]
    if value.get("country"):
        code = _country(value["country"], f"{path}.country", errors)
        if code:
            party["country"] = code
    return party


def details_from_raw(raw: Raw, errors: Errors | None = None) -> dict[str, Any]:
    """The details object the services validate. Numbers stay text here (separators taken
    out): the details schema parses them and names the field when one is not a number.
    Countries are read from names or codes; one that names no country goes to `errors`."""
    errors = {} if errors is None else errors
    category = raw["category"]
    kind = details_category(category)
    source: Raw = raw["details"]
    details: dict[str, Any] = {}
    for party in PARTIES.get(kind, ("organisation",) if kind == "generic" else ()):
        built = _party(
            source.get(party) or {},
            category in REQUIRED_PARTIES.get(party, set()),
            f"details.{party}",
            errors,
        )
        if built is not None:
            details[party] = built
    if kind == "chip_diversion":
        details["items"] = [
            {
                "model": row["model"],
                "quantity": _number(row["quantity"]),
                "serials": [s for s in re.split(r"[\s,;]+", row["serials"]) if s],
            }
            for row in source.get("items") or []
        ]
        intermediaries = []
        for index, row in enumerate(source.get("intermediaries") or []):
            built = _party(row, True, f"details.intermediaries.{index}", errors) or {}
            built["role"] = row.get("role") or "other"
            intermediaries.append(built)
        details["intermediaries"] = intermediaries
        route = _split_route(source.get("route", ""))
        details["route"] = [
            _country(stop, f"details.route.{index}", errors) or stop.upper()
            for index, stop in enumerate(route)
        ]
        if source.get("value_usd"):
            details["value_usd"] = _number(source["value_usd"])
        for name in ("eccn", "shipment_ref"):
            if source.get(name):
                details[name] = source[name]
    elif kind in ("military_ai", "cloud_compute"):
        key = "chips_used" if kind == "military_ai" else "chips"
        chips = []
        for row in source.get(key) or []:
            chip: dict[str, Any] = {"model": row["model"]}
            if row.get("quantity"):
                chip["quantity"] = _number(row["quantity"])
            chips.append(chip)
        details[key] = chips
        if kind == "military_ai":
            details["capability"] = source.get("capability", "")
            if source.get("training_compute_flop"):
                details["training_compute_flop"] = source["training_compute_flop"]
        elif source.get("gpu_hours"):
            details["gpu_hours"] = _number(source["gpu_hours"])
    else:
        if source.get("description"):
            details["description"] = source["description"]
    details["red_flags"] = list(source.get("red_flags") or [])
    return details


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


def content_from_raw(raw: Raw, origin: str) -> ReportContent:
    """Check everything that can be checked without the database and build the content.

    Raises ValidationError({dotted.path: [messages]}) with every problem found at once."""
    errors: Errors = {}
    if not raw["title"]:
        errors["title"] = ["Give the report a title"]
    elif len(raw["title"]) > 200:
        errors["title"] = ["At most 200 characters"]
    if not raw["summary"]:
        errors["summary"] = ["Write a summary"]
    elif len(raw["summary"]) > 20_000:
        errors["summary"] = ["At most 20,000 characters"]
    if raw["source_reliability"] not in Reliability.values:
        errors["source_reliability"] = ["Choose the source reliability (A to F)"]
    credibility = 0
    if raw["info_credibility"] not in {str(value) for value, _ in CREDIBILITY_CHOICES}:
        errors["info_credibility"] = ["Choose the information credibility (1 to 6)"]
    else:
        credibility = int(raw["info_credibility"])
    if len(raw["change_note"]) > 500:
        errors["change_note"] = ["At most 500 characters"]
    start = _date(raw, "event_start", errors)
    end = _date(raw, "event_end", errors)
    if start and end and end < start:
        errors["event_end"] = ["The end is before the start"]
    _check_marking(raw, origin, errors)
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
    details = details_from_raw(raw, errors)
    try:
        validate_details(raw["category"], details)
    except Exception as exc:  # the DRF error carries the field structure
        detail = getattr(exc, "detail", None)
        if detail is None:
            raise
        for path, messages in flatten_errors(detail).items():
            errors.setdefault(path, []).extend(messages)
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
    errors: list[str] = field(default_factory=list)
    chip_rows: bool = False

    @property
    def row_label(self) -> str:
        """What one row is called in an error ("Item", "Intermediary", "Chip")."""
        return ROW_LABELS.get(self.name, "Row")


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


ROW_LABELS = {
    "details.items": "Item",
    "details.intermediaries": "Intermediary",
    "details.chips_used": "Chip",
    "details.chips": "Chip",
    "entities": "Entity",
}
COUNTRY_HELP = "Name or ISO code, e.g. Singapore or SG"


def _party_section(
    raw_party: Mapping[str, str], prefix: str, label: str, required: bool
) -> Section:
    return Section(
        legend=label + ("" if required else " (optional)"),
        fields=[
            Field(
                f"{prefix}.name",
                "Name",
                raw_party.get("name", ""),
                required=required,
                maxlength=300,
            ),
            Field(f"{prefix}.address", "Address", raw_party.get("address", ""), maxlength=500),
            Field(
                f"{prefix}.country",
                "Country",
                raw_party.get("country", ""),
                help=COUNTRY_HELP,
                datalist="countries",
                maxlength=60,
            ),
        ],
    )


def _chip_rows(base: str, rows: list[dict[str, str]], serials: bool) -> list[Row]:
    out = []
    for index, row in enumerate(rows):
        fields = [
            Field(
                f"{base}.{index}.model",
                "Chip model",
                row.get("model", ""),
                datalist="chip-models",
                required=True,
                maxlength=100,
            ),
            Field(
                f"{base}.{index}.quantity",
                "Quantity",
                row.get("quantity", ""),
                widget="number",
                required=base == "details.items",
                inputmode="numeric",
            ),
        ]
        if serials:
            fields.append(
                Field(
                    f"{base}.{index}.serials",
                    "Serial numbers",
                    row.get("serials", ""),
                    help="Separated by commas or spaces",
                )
            )
        out.append(Row(index, f"{base}.{index}", fields))
    return out


def _red_flags(raw: Raw) -> Field:
    return Field(
        "details.red_flags",
        "Red flags",
        widget="checkboxes",
        wide=True,
        choices=[(flag, RED_FLAG_LABELS.get(flag, flag)) for flag, _ in RED_FLAG_CHOICES],
        selected=list(raw["details"].get("red_flags") or []),
    )


def _details_sections(raw: Raw) -> list[Section]:
    category = raw["category"]
    kind = details_category(category)
    src: Raw = raw["details"]
    sections: list[Section] = []
    if kind == "chip_diversion":
        items = src.get("items") or [dict.fromkeys(("model", "quantity", "serials"), "")]
        sections.append(
            Section(
                "Items",
                repeats=[
                    Repeat(
                        "details.items",
                        "Items shipped",
                        "Add another item",
                        _chip_rows("details.items", items, serials=True),
                        chip_rows=True,
                    )
                ],
            )
        )
        for party in PARTIES["chip_diversion"]:
            sections.append(
                _party_section(src.get(party) or {}, f"details.{party}", PARTY_LABELS[party], False)
            )
        rows = []
        for index, row in enumerate(src.get("intermediaries") or []):
            prefix = f"details.intermediaries.{index}"
            rows.append(
                Row(
                    index,
                    prefix,
                    [
                        Field(f"{prefix}.name", "Name", row.get("name", ""), required=True),
                        Field(
                            f"{prefix}.role",
                            "Role",
                            row.get("role", ""),
                            widget="select",
                            choices=[("", "Choose…")]
                            + [
                                (r, INTERMEDIARY_ROLE_LABELS.get(r, r))
                                for r, _ in INTERMEDIARY_ROLE_CHOICES
                            ],
                        ),
                        Field(
                            f"{prefix}.country",
                            "Country",
                            row.get("country", ""),
                            help=COUNTRY_HELP,
                            datalist="countries",
                            maxlength=60,
                        ),
                        Field(f"{prefix}.address", "Address", row.get("address", "")),
                    ],
                )
            )
        sections.append(
            Section(
                "Intermediaries",
                repeats=[
                    Repeat(
                        "details.intermediaries",
                        "Intermediaries (forwarders, resellers, shells, banks)",
                        "Add an intermediary",
                        rows,
                    )
                ],
            )
        )
        sections.append(
            Section(
                "Shipment",
                fields=[
                    Field(
                        "details.route",
                        "Route",
                        src.get("route", ""),
                        help="Countries in order, names or codes: US, Singapore, MY, CN",
                    ),
                    Field(
                        "details.value_usd",
                        "Declared value (USD)",
                        src.get("value_usd", ""),
                        widget="number",
                        inputmode="numeric",
                    ),
                    Field(
                        "details.eccn",
                        "ECCN",
                        src.get("eccn", ""),
                        help="e.g. 3A090.a",
                        maxlength=20,
                    ),
                    Field(
                        "details.shipment_ref",
                        "Shipment reference",
                        src.get("shipment_ref", ""),
                        maxlength=100,
                    ),
                ],
            )
        )
    elif kind == "military_ai":
        sections.append(
            _party_section(src.get("organisation") or {}, "details.organisation", "Developer", True)
        )
        chips = src.get("chips_used") or []
        sections.append(
            Section(
                "Capability",
                fields=[
                    Field(
                        "details.capability",
                        "Capability",
                        src.get("capability", ""),
                        widget="textarea",
                        required=True,
                        maxlength=500,
                        wide=True,
                    ),
                    Field(
                        "details.training_compute_flop",
                        "Training compute (FLOP)",
                        src.get("training_compute_flop", ""),
                        help="A decimal number such as 3.2e25",
                    ),
                ],
                repeats=[
                    Repeat(
                        "details.chips_used",
                        "Chips used",
                        "Add a chip",
                        _chip_rows("details.chips_used", chips, serials=False),
                        chip_rows=True,
                    )
                ],
            )
        )
    elif kind == "cloud_compute":
        for party in PARTIES["cloud_compute"]:
            sections.append(
                _party_section(src.get(party) or {}, f"details.{party}", PARTY_LABELS[party], True)
            )
        sections.append(
            Section(
                "Compute",
                fields=[
                    Field(
                        "details.gpu_hours",
                        "GPU hours",
                        src.get("gpu_hours", ""),
                        widget="number",
                        inputmode="numeric",
                    )
                ],
                repeats=[
                    Repeat(
                        "details.chips",
                        "Chips rented",
                        "Add a chip",
                        _chip_rows("details.chips", src.get("chips") or [], serials=False),
                        chip_rows=True,
                    )
                ],
            )
        )
    else:
        sections.append(
            _party_section(
                src.get("organisation") or {}, "details.organisation", "Organisation", False
            )
        )
        sections.append(
            Section(
                "Description",
                fields=[
                    Field(
                        "details.description",
                        "Description",
                        src.get("description", ""),
                        widget="textarea",
                        maxlength=5000,
                        wide=True,
                    )
                ],
            )
        )
    sections.append(Section("Red flags", fields=[_red_flags(raw)]))
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
    return Repeat("entities", "Other entities (officers, subjects…)", "Add an entity", rows)


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
