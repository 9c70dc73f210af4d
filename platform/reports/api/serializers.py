"""Input and output shapes of the analyst report API. Validation of meaning lives in services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from core.api.strict import JsonTypesMixin
from core.markings import TLP_COLOURS, Classification
from core.nodes import NODE_DIRECTORY
from core.selectors import this_node
from reports.details import DETAILS_BY_CATEGORY
from reports.models import Category, EntityKind, EntityRole, Reliability, ReportVersion, Status
from reports.services import WITHDRAW_REASON_MAX, EntityInput, ReportContent
from reports.validators import EARLIEST_EVENT, LATEST_EVENT, validate_event_date

MAX_SUMMARY = 20_000

# Marking values as the document lists them; the API also takes them in any case.
LEVELS = [level.name for level in Classification]
REL_TO_TOKENS = sorted([*NODE_DIRECTORY.codes(), *NODE_DIRECTORY.groups()])


@extend_schema_field({"type": "string", "enum": LEVELS})
class ClassificationField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": REL_TO_TOKENS})
class RelToField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": list(TLP_COLOURS)})
class TlpField(serializers.CharField):
    pass


# Years 1900 to 2100, i.e. EARLIEST_EVENT (1 January) to LATEST_EVENT (31 December); the format
# makes the rest of the date valid.
EVENT_YEARS = rf"^({EARLIEST_EVENT.year // 100}[0-9][0-9]|20[0-9][0-9]|{LATEST_EVENT.year})-"


@extend_schema_field({"type": "string", "format": "date", "pattern": EVENT_YEARS})
class EventDateField(serializers.DateField):
    pass


class MarkingsSerializer(serializers.Serializer[dict[str, Any]]):
    classification = ClassificationField(max_length=20)
    rel_to = serializers.ListField(child=RelToField(max_length=8), min_length=1, max_length=20)
    orcon = serializers.BooleanField(default=False)
    tlp = TlpField(max_length=12)

    def request_schema_extra(self) -> dict[str, Any]:
        """core.markings.build_marking's rules: REL TO includes this node (itself or a group
        it is in); TLP:CLEAR only at OFFICIAL; ORCON not with CLEAR or GREEN."""
        try:
            me = this_node().code
        except (
            DatabaseError
        ):  # the schema built with no database (`check --deploy` on a build host)
            me = settings.NODE_CODE
        mine = [t for t in REL_TO_TOKENS if me in NODE_DIRECTORY.expand([t])]
        not_clear = [c for c in TLP_COLOURS if c != "clear"]
        return {
            "allOf": [
                # "some item is one of `mine`", in OpenAPI 3.0 terms (it has no `contains`)
                {"properties": {"rel_to": {"not": {"items": {"not": {"enum": mine}}}}}},
                {
                    "anyOf": [
                        {"properties": {"classification": {"enum": ["OFFICIAL"]}}},
                        {"properties": {"tlp": {"enum": not_clear}}},
                    ]
                },
                {
                    "anyOf": [
                        {"properties": {"orcon": {"enum": [False]}}},
                        {"properties": {"tlp": {"enum": ["amber", "amber+strict", "red"]}}},
                    ]
                },
            ]
        }


class EntityInputSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=EntityKind.choices)
    name = serializers.CharField(max_length=300)
    role = serializers.ChoiceField(choices=EntityRole.choices)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, allow_blank=True, default="")


class ReportWriteSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=MAX_SUMMARY)
    category = serializers.ChoiceField(choices=Category.choices)
    markings = MarkingsSerializer()
    source_reliability = serializers.ChoiceField(choices=Reliability.choices)
    info_credibility = serializers.IntegerField(min_value=1, max_value=6)
    event_start = EventDateField(required=False, allow_null=True, validators=[validate_event_date])
    event_end = EventDateField(
        required=False,
        allow_null=True,
        validators=[validate_event_date],
        help_text="not before event_start",
    )
    details = serializers.DictField()
    entities = serializers.ListField(
        child=EntityInputSerializer(), required=False, default=list, max_length=200
    )
    change_note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=[(Status.DRAFT, "draft"), (Status.PUBLISHED, "published")], required=False
    )

    def to_content(self) -> ReportContent:
        data = self.validated_data
        markings = data["markings"]
        return ReportContent(
            title=data["title"],
            summary=data["summary"],
            category=data["category"],
            classification=markings["classification"],
            rel_to=list(markings["rel_to"]),
            orcon=markings["orcon"],
            tlp=markings["tlp"],
            source_reliability=data["source_reliability"],
            info_credibility=data["info_credibility"],
            details=data["details"],
            event_start=data.get("event_start"),
            event_end=data.get("event_end"),
            entities=[EntityInput(**entity) for entity in data.get("entities", [])],
            change_note=data.get("change_note", ""),
        )


class ReportReviseSerializer(ReportWriteSerializer):
    base_version = serializers.IntegerField(
        min_value=1, help_text="the version you edited; a newer one gives 409"
    )


def _by_category(base: type[ReportWriteSerializer]) -> PolymorphicProxySerializer:
    """The request schema of a report write: one variant per category, each with the details
    that category takes (reports.details), so the document describes `details` exactly."""
    variants: dict[str, serializers.Serializer[Any] | type[serializers.Serializer[Any]]] = {}
    for category, details in DETAILS_BY_CATEGORY.items():
        name = base.__name__.removesuffix("Serializer") + category.title().replace("_", "")
        # An inline one-value enum: a ChoiceField would publish six colliding "CategoryEnum"s.
        one = type(f"{name}CategoryField", (serializers.ChoiceField,), {"__module__": __name__})
        only = extend_schema_field({"type": "string", "enum": [category]})(one)
        fields = {
            "category": only(choices=[category]),
            "details": details(),
            "__module__": __name__,
        }
        variants[category] = type(f"{name}Serializer", (base,), fields)
    return PolymorphicProxySerializer(
        component_name=base.__name__.removesuffix("Serializer"),
        serializers=variants,
        resource_type_field_name="category",
    )


class WithdrawSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    base_version = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=WITHDRAW_REASON_MAX)


class MarkingsOut(serializers.Serializer[Any]):
    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {
            "classification": Classification(instance.classification).name,
            "rel_to": list(instance.rel_to),
            "orcon": instance.orcon,
            "tlp": instance.tlp,
        }


class ReportSummarySerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    origin = serializers.CharField()
    version = serializers.IntegerField(source="current_version")
    title = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    markings = MarkingsOut(source="*")
    event_start = serializers.DateField(allow_null=True)
    event_end = serializers.DateField(allow_null=True)
    countries = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField()


class EntityOut(serializers.Serializer[Any]):
    kind = serializers.CharField(source="entity.kind")
    name = serializers.CharField(source="entity.name")
    country = serializers.CharField(source="entity.country")
    role = serializers.CharField()


class ReportVersionSerializer(serializers.ModelSerializer[ReportVersion]):
    id = serializers.UUIDField(source="report_id")
    origin = serializers.CharField(source="report.origin")
    markings = MarkingsOut(source="*")
    entities = EntityOut(source="links", many=True)

    class Meta:
        model = ReportVersion
        fields = [
            "id",
            "origin",
            "version",
            "title",
            "summary",
            "category",
            "status",
            "markings",
            "source_reliability",
            "info_credibility",
            "event_start",
            "event_end",
            "countries",
            "details",
            "entities",
            "change_note",
            "created_at",
        ]


REPORT_WRITE_REQUEST = _by_category(ReportWriteSerializer)
REPORT_REVISE_REQUEST = _by_category(ReportReviseSerializer)
