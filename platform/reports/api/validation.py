"""Every field error of a report request in one answer.

The write serializer checks shapes; the details schema, the marking rules and the event dates
were checked one after the other further in, so four mistakes took four round trips. Here all
of them run on the request as sent, and the 400 lists every dotted path at once; the services
still check everything again when they write.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api.strict import json_type_errors
from core.errors import flatten_errors
from core.markings import MarkingError, build_marking
from core.selectors import this_node
from reports.details import DETAILS_BY_CATEGORY, validate_details

Errors = dict[str, list[str]]


def _untouched(errors: Errors, prefix: str) -> bool:
    return not any(path == prefix or path.startswith(prefix + ".") for path in errors)


def _details_errors(data: dict[str, Any], errors: Errors) -> None:
    category, details = data.get("category"), data.get("details")
    # `category` may be any JSON value here (the serializer's own error names it).
    if not isinstance(category, str) or category not in DETAILS_BY_CATEGORY:
        return
    if not isinstance(details, dict):
        return
    if not _untouched(errors, "details"):
        return
    # JSON types as the document gives them; the web editor's form fields arrive as text and
    # share validate_details, so this check is the API's own.
    typed = json_type_errors(DETAILS_BY_CATEGORY[category]().fields, details, "details.")
    if typed:
        errors.update(typed)
        return
    try:
        validate_details(category, details)
    except serializers.ValidationError as exc:
        for path, messages in flatten_errors(exc.detail).items():
            errors.setdefault(path, []).extend(messages)


def _marking_errors(data: dict[str, Any], errors: Errors) -> None:
    markings = data.get("markings")
    if not isinstance(markings, dict) or not _untouched(errors, "markings"):
        return
    try:
        build_marking(
            classification=str(markings.get("classification", "")),
            rel_to=[str(code) for code in markings.get("rel_to") or []],
            orcon=bool(markings.get("orcon", False)),
            tlp=str(markings.get("tlp", "")),
            origin=this_node().code,
        )
    except MarkingError as exc:
        errors.setdefault(f"markings.{exc.field}", []).append(exc.message)


def check_report_request(serializer: serializers.Serializer[Any]) -> None:
    """Validate `serializer` and the request's details, marking and dates together; raise one
    ValidationError with every problem found."""
    valid = serializer.is_valid()
    errors: Errors = {} if valid else flatten_errors(serializer.errors)
    data = serializer.initial_data
    if isinstance(data, dict):
        _details_errors(data, errors)
        _marking_errors(data, errors)
    if valid:
        start = serializer.validated_data.get("event_start")
        end = serializer.validated_data.get("event_end")
        if start and end and end < start:
            errors.setdefault("event_end", []).append("event_end is before event_start")
    if errors:
        raise serializers.ValidationError(errors)
