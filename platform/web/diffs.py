"""What changed between two versions of a report, field by field, as the report page shows it.

The caller picks both versions from those the reader may see (never one above the reader's
clearance): a diff says nothing about versions it was not given."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.markings import Classification
from reports.models import Category, ReportVersion, Status

from .labels import PARTY_LABELS, RED_FLAG_LABELS, human

DETAIL_LABELS = {
    **PARTY_LABELS,
    "items": "Accelerator",
    "chips_used": "Accelerator",
    "chips": "Accelerator",
    "intermediaries": "Intermediary",
    "route": "Route",
    "value_usd": "Declared value (USD)",
    "eccn": "ECCN",
    "shipment_ref": "Shipment reference",
    "red_flags": "Red flags",
    "capability": "Capability",
    "training_compute_flop": "Training compute (FLOP)",
    "gpu_hours": "GPU hours",
    "description": "Description",
}
NUMBERS = frozenset({"value_usd", "gpu_hours", "quantity"})
_WORDS = re.compile(r"(\s+)")


@dataclass(frozen=True)
class Piece:
    """A run of words of a text field: kept, or only in the older or the newer version."""

    kind: str  # "same", "removed", "added"
    text: str


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str
    # Word-level diff of a text field (title, summary); empty for other fields.
    before_pieces: tuple[Piece, ...] = ()
    after_pieces: tuple[Piece, ...] = ()


def word_diff(before: str, after: str) -> tuple[tuple[Piece, ...], tuple[Piece, ...]]:
    """The older text with its removed words marked, the newer with its added words marked."""
    old, new = _WORDS.split(before), _WORDS.split(after)
    old_pieces: list[Piece] = []
    new_pieces: list[Piece] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            old_pieces.append(Piece("same", "".join(old[i1:i2])))
            new_pieces.append(Piece("same", "".join(new[j1:j2])))
            continue
        if i2 > i1:
            old_pieces.append(Piece("removed", "".join(old[i1:i2])))
        if j2 > j1:
            new_pieces.append(Piece("added", "".join(new[j1:j2])))
    return tuple(old_pieces), tuple(new_pieces)


def _scalar_text(key: str, value: Any) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in NUMBERS and isinstance(value, int):
        return f"{value:,}"
    if key == "red_flags":
        return RED_FLAG_LABELS.get(str(value), human(value))
    if key == "role":
        return human(value)
    return str(value)


def _leaves(key: str, value: Any, label: str) -> Iterator[tuple[str, str]]:
    """(label, text) for every leaf of a detail: parties by field, rows numbered from 1,
    lists of plain values (route, serials, red flags) as one line."""
    if isinstance(value, dict):
        for sub in sorted(value):
            yield from _leaves(sub, value[sub], f"{label} · {human(sub).capitalize()}")
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for number, row in enumerate(value, start=1):
            yield from _leaves(key, row, f"{label} {number}")
    elif isinstance(value, list):
        joiner = " → " if key == "route" else ", "
        yield label, joiner.join(_scalar_text(key, v) for v in value) or "–"
    else:
        yield label, _scalar_text(key, value)


def _detail_lines(details: dict[str, Any]) -> dict[str, str]:
    lines: dict[str, str] = {}
    for key in sorted(details):
        label = DETAIL_LABELS.get(key, human(key).capitalize())
        lines.update(_leaves(key, details[key], label))
    return lines


def _marking_lines(version: ReportVersion) -> dict[str, str]:
    return {
        "Classification": Classification(version.classification).name,
        "REL TO": ", ".join(code.upper() for code in version.rel_to),
        "ORCON": "yes" if version.orcon else "no",
        "TLP": f"TLP:{version.tlp.upper()}",
    }


def _field_lines(version: ReportVersion) -> dict[str, str]:
    return {
        "Category": Category(version.category).label,
        "Status": Status(version.status).label,
        **_marking_lines(version),
        "Source / information": f"{version.source_reliability}{version.info_credibility}",
        "Event start": str(version.event_start or "–"),
        "Event end": str(version.event_end or "–"),
        **_detail_lines(version.details or {}),
    }


def version_changes(older: ReportVersion, newer: ReportVersion) -> list[FieldChange]:
    """Every field that differs between `older` and `newer`, title and summary word by word."""
    changes = []
    for label, before, after in (
        ("Title", older.title, newer.title),
        ("Summary", older.summary, newer.summary),
    ):
        if before != after:
            old_pieces, new_pieces = word_diff(before, after)
            changes.append(FieldChange(label, before, after, old_pieces, new_pieces))
    old_lines, new_lines = _field_lines(older), _field_lines(newer)
    for label in [*old_lines, *(k for k in new_lines if k not in old_lines)]:
        before, after = old_lines.get(label, "–"), new_lines.get(label, "–")
        if before != after:
            changes.append(FieldChange(label, before, after))
    return changes
