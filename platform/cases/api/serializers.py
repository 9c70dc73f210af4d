from __future__ import annotations

from typing import Any

from rest_framework import serializers

from cases.models import Case
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
        ]

    def get_classification(self, case: Case) -> str:
        return Classification(case.classification).name

    def get_rank(self, case: Case) -> int | None:
        ranks: dict[int, int] = self.context.get("ranks", {})
        return ranks.get(case.pk)


class CaseDetailSerializer(CaseSerializer):
    links = serializers.JSONField()
    reports = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "links", "reports"]

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


class MergeSerializer(serializers.Serializer[dict[str, Any]]):
    cases = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=50
    )


class SplitSerializer(serializers.Serializer[dict[str, Any]]):
    reports = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500)
