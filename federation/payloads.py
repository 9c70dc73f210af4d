"""A report version as the signed payload partners receive, and back again.

The payload follows the documented report schema (README, "Report schema") minus the markings,
which travel signed in the envelope itself. No floats anywhere: canonical JSON forbids them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rest_framework import serializers

from core.errors import flatten_errors
from reports.details import validate_details
from reports.models import Category, EntityKind, EntityRole, Reliability, ReportVersion
from reports.services import EntityInput
from reports.validators import validate_event_date


def payload_of(version: ReportVersion) -> dict[str, Any]:
    entities = [
        {
            "kind": link.entity.kind,
            "name": link.entity.name,
            "country": link.entity.country,
            "role": link.role,
        }
        for link in version.links.select_related("entity").order_by("id")
    ]
    return {
        "title": version.title,
        "summary": version.summary,
        "category": version.category,
        "status": version.status,
        "event_start": version.event_start.isoformat() if version.event_start else None,
        "event_end": version.event_end.isoformat() if version.event_end else None,
        "source_reliability": version.source_reliability,
        "info_credibility": version.info_credibility,
        "origin_version": version.version,
        "details": version.details,
        "entities": entities,
        "change_note": version.change_note,
    }


class _Entity(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=EntityKind.choices)
    name = serializers.CharField(max_length=300)
    country = serializers.RegexField(r"^([A-Z]{2})?$", allow_blank=True)
    role = serializers.ChoiceField(choices=EntityRole.choices)


class _Payload(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=20_000, allow_blank=True)
    category = serializers.ChoiceField(choices=Category.choices)
    status = serializers.ChoiceField(choices=["published"])
    event_start = serializers.DateField(allow_null=True, validators=[validate_event_date])
    event_end = serializers.DateField(allow_null=True, validators=[validate_event_date])
    source_reliability = serializers.ChoiceField(choices=Reliability.choices)
    info_credibility = serializers.IntegerField(min_value=1, max_value=6)
    origin_version = serializers.IntegerField(min_value=1)
    details = serializers.DictField()
    entities = serializers.ListField(child=_Entity(), max_length=500)
    change_note = serializers.CharField(max_length=500, allow_blank=True)


class PayloadError(ValueError):
    """The payload does not match the report schema; `fields` names what is wrong."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first = next(iter(fields.items()))
        super().__init__(f"payload.{first[0]}: {first[1][0]}")
        self.fields = fields


# Bound once and reused (building a serializer deep-copies its fields: costly per item).
_PAYLOAD = _Payload()
_PAYLOAD_FIELDS = frozenset(_PAYLOAD.fields)


def parse_payload(payload: Any) -> dict[str, Any]:
    """Validate a partner's payload as strictly as the analyst API validates a write."""
    if not isinstance(payload, dict):
        raise PayloadError({"payload": ["expected an object"]})
    unknown = set(payload) - _PAYLOAD_FIELDS
    if unknown:
        raise PayloadError({name: ["unknown field"] for name in sorted(unknown)})
    try:
        data = dict(_PAYLOAD.run_validation(payload))
    except serializers.ValidationError as exc:
        raise PayloadError(flatten_errors(exc.detail)) from None
    try:
        data["details"] = validate_details(data["category"], data["details"])
    except serializers.ValidationError as exc:
        raise PayloadError(flatten_errors(exc.detail)) from None
    start: date | None = data["event_start"]
    end: date | None = data["event_end"]
    if start and end and end < start:
        raise PayloadError({"event_end": ["event_end is before event_start"]})
    data["entities"] = [EntityInput(**entity) for entity in data["entities"]]
    return data
