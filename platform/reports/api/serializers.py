"""Input and output shapes of the analyst report API. Validation of meaning lives in services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.markings import Classification
from reports.models import Category, EntityKind, EntityRole, Reliability, ReportVersion, Status
from reports.services import EntityInput, ReportContent
from reports.validators import validate_event_date

MAX_SUMMARY = 20_000


class MarkingsSerializer(serializers.Serializer[dict[str, Any]]):
    classification = serializers.CharField(max_length=20)
    rel_to = serializers.ListField(
        child=serializers.CharField(max_length=8), min_length=1, max_length=20
    )
    orcon = serializers.BooleanField(default=False)
    tlp = serializers.CharField(max_length=12)


class EntityInputSerializer(serializers.Serializer[dict[str, Any]]):
    kind = serializers.ChoiceField(choices=EntityKind.choices)
    name = serializers.CharField(max_length=300)
    role = serializers.ChoiceField(choices=EntityRole.choices)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, allow_blank=True, default="")


class ReportWriteSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=MAX_SUMMARY)
    category = serializers.ChoiceField(choices=Category.choices)
    markings = MarkingsSerializer()
    source_reliability = serializers.ChoiceField(choices=Reliability.choices)
    info_credibility = serializers.IntegerField(min_value=1, max_value=6)
    event_start = serializers.DateField(
        required=False, allow_null=True, validators=[validate_event_date]
    )
    event_end = serializers.DateField(
        required=False, allow_null=True, validators=[validate_event_date]
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


class WithdrawSerializer(serializers.Serializer[dict[str, Any]]):
    base_version = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=500)


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
