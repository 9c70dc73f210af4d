"""What was typed, read into a `reports.services.ReportContent`: every problem that can be
found without the database, all at once, by dotted path (the details by the same schema the
API validates them with).

The form is kinder than the API about how things are typed: countries by name or code
("Singapore", "SG"), numbers with digit-group separators ("12,000,000"), a route's stops
separated by commas, arrows or spaces, serial numbers by commas or spaces."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from core.errors import flatten_errors
from core.markings import Marking, MarkingError, build_marking
from reports.categories import CATEGORIES, Detail, Kind
from reports.details import validate_details
from reports.models import CREDIBILITY_CHOICES, EntityKind, EntityRole, Reliability
from reports.services import EntityInput, ReportContent

from ..countries import UnknownCountry, parse_country
from .raw import Raw

Errors = dict[str, list[str]]

_STOP_SEPARATOR = re.compile(r"\s*(?:[,;>→/]|->|–|—)\s*")
_SEPARATORS = re.compile(r"(?<=\d)[,\s\u00a0\u202f'_](?=\d{3})")
_LIST_SEPARATOR = re.compile(r"[\s,;]+")
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
    """A list: a repeated group's rows, the boxes ticked, or the values typed into one box
    (a route's stops, serial numbers)."""
    if detail.group is not None:
        return [_group(detail, row, f"{path}.{i}", errors) for i, row in enumerate(typed or [])]
    if detail.kind is Kind.CHOICE:
        return list(typed or [])
    text = typed or ""
    items = _split_route(text) if detail.kind is Kind.COUNTRY else _LIST_SEPARATOR.split(text)
    values = []
    for index, item in enumerate(item for item in items if item):
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
    return _fields(CATEGORIES[raw["category"]].fields, raw["details"], "details", errors)


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
