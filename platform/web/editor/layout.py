"""The editor's inputs: the report's own fields, then the category's details in the order
and sections its description gives, each input with what was typed and its errors; an error
the inputs cannot place is listed at the top."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.markings import Classification
from core.nodes import NODE_DIRECTORY
from reports.categories import CATEGORIES, Detail, Kind
from reports.models import (
    CREDIBILITY_CHOICES,
    TLP_CHOICES,
    Category,
    EntityKind,
    EntityRole,
    Reliability,
)

from ..labels import node_name
from .conversion import Errors
from .raw import Raw, blank_row


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
# Room for any country's name as ISO 3166 gives it (the longest official one has 52 letters):
# a country is typed by name too, never cut to the two letters of a code.
COUNTRY_MAXLENGTH = 60


def _input(detail: Detail, name: str, value: Any, required: bool) -> Field:
    """The input of one described field, with what was typed in it."""
    kind = detail.kind
    if kind is Kind.CHOICE and detail.many:
        return Field(
            name,
            detail.label,
            widget="checkboxes",
            wide=True,
            help=detail.help,
            choices=list(detail.choices),
            selected=list(value or []),
        )
    field = Field(
        name,
        detail.label,
        value or "",
        widget=WIDGETS.get(kind, "text"),
        required=required,
        help=detail.help,
        wide=kind is Kind.LONG_TEXT,
    )
    if detail.many:
        return field  # a list typed into one box, separated: no picker, no length limit
    if kind is Kind.CHOICE:
        field.choices = [CHOOSE, *detail.choices]
    elif kind is Kind.INTEGER:
        field.inputmode = "numeric"
    elif kind is Kind.COUNTRY:
        field.datalist, field.maxlength = "countries", COUNTRY_MAXLENGTH
    elif kind is Kind.CHIP:
        field.datalist, field.maxlength = "chip-models", detail.max_length
    elif kind in (Kind.TEXT, Kind.LONG_TEXT):
        field.maxlength = detail.max_length
    return field


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
    shown = rows or [blank_row(detail) for _ in range(detail.min_items)]
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
    for detail in CATEGORIES[raw["category"]].fields:
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
                        choices=[CHOOSE, *EntityKind.choices],
                    ),
                    Field(f"{prefix}.name", "Name", row.get("name", ""), maxlength=300),
                    Field(
                        f"{prefix}.role",
                        "Role",
                        row.get("role", ""),
                        widget="select",
                        choices=[CHOOSE, *EntityRole.choices],
                    ),
                    Field(
                        f"{prefix}.country",
                        "Country",
                        row.get("country", ""),
                        datalist="countries",
                        maxlength=COUNTRY_MAXLENGTH,
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
            labels[item.name] = f"{entities.row_label} {row.number} › {item.label}"
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
            choices=[CHOOSE, *Reliability.choices],
            required=True,
        ),
        Field(
            "info_credibility",
            "Information credibility",
            raw["info_credibility"],
            widget="select",
            choices=[CHOOSE, *((str(v), label) for v, label in CREDIBILITY_CHOICES)],
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
