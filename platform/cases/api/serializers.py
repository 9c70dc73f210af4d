from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cases.models import CLOSED_STATUSES, Case, CaseNote, CaseStatus
from core.api.schema import NOT_BLANK
from core.api.strict import JsonTypesMixin
from core.markings import Classification


class CaseSerializer(serializers.ModelSerializer[Case]):
    classification = serializers.SerializerMethodField()
    rank = serializers.SerializerMethodField()
    score = serializers.FloatField(source="scored.score")
    baseline = serializers.FloatField(source="scored.baseline")
    contributions = serializers.JSONField(
        source="scored.contributions",
        help_text="largest first; baseline + the points of every line = score",
    )
    config_version = serializers.CharField(source="scored.config_version")
    scored_at = serializers.DateTimeField(source="scored.scored_at")
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id",
            "rank",
            "title",
            "category",
            "classification",
            "score",
            "baseline",
            "contributions",
            "report_count",
            "origins",
            "countries",
            "latest_event",
            "config_version",
            "scored_at",
            "status",
            "assignee",
            "disposition_reason",
            "flagged",
            "created_at",
            "changed_at",
        ]

    def get_assignee(self, case: Case) -> str | None:
        return case.assignee.get_username() if case.assignee_id and case.assignee else None

    def get_classification(self, case: Case) -> str:
        return Classification(case.classification).name

    def get_rank(self, case: Case) -> int | None:
        ranks: dict[int, int] = self.context.get("ranks", {})
        return ranks.get(case.pk)


class CaseDetailSerializer(CaseSerializer):
    links = serializers.JSONField()
    reports = serializers.SerializerMethodField()
    merged_from = serializers.SerializerMethodField(help_text="ids that now redirect here")

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "links", "reports", "merged_from"]

    def get_merged_from(self, case: Case) -> list[int]:
        return sorted(case.redirects.values_list("old_id", flat=True))

    def get_reports(self, case: Case) -> list[dict[str, Any]]:
        reports = self.context["reports"]
        return [
            {
                "id": str(r.pk),
                "origin": r.origin,
                "title": r.title,
                "status": r.status,
                "classification": Classification(r.classification).name,
            }
            for r in reports
        ]


class MergeSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    cases = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=50
    )


class SplitSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    reports = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)


class StatusSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    # A status that closes the case needs a reason (the disposition the weights learn from).
    request_schema_extra = {
        "anyOf": [
            {
                "properties": {
                    "status": {"enum": [s for s in CaseStatus.values if s not in CLOSED_STATUSES]}
                }
            },
            {"required": ["reason"], "properties": {"reason": {"pattern": NOT_BLANK}}},
        ]
    }
    status = serializers.ChoiceField(choices=CaseStatus.values)
    reason = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=2000,
        help_text="required when the status closes the case",
    )  # fmt: skip


class DisposeSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    outcome = serializers.ChoiceField(choices=[str(s) for s in CLOSED_STATUSES])
    reason = serializers.CharField(max_length=2000)


class AssignSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    assignee = serializers.IntegerField(min_value=1, allow_null=True, help_text="a user id")


class NoteSerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    text = serializers.CharField(max_length=5000)


class CaseNoteSerializer(serializers.ModelSerializer[CaseNote]):
    author = serializers.SerializerMethodField()

    class Meta:
        model = CaseNote
        fields = ["id", "author", "text", "created_at"]

    def get_author(self, note: CaseNote) -> str | None:
        return note.author.get_username() if note.author else None
