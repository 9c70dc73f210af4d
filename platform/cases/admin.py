from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Case, CaseMember, CaseOverride, CaseScore, ScoringConfigVersion, ScreeningList


class MemberInline(admin.TabularInline[CaseMember, Case]):
    model = CaseMember
    extra = 0
    readonly_fields = ("report",)


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    list_display = ("id", "title", "report_count", "classification", "score")
    list_filter = ("category", "classification")
    search_fields = ("title",)
    inlines = [MemberInline]
    readonly_fields = ("features", "links", "keys")

    @admin.display(description="Score")
    def score(self, case: Case) -> str:
        scored = CaseScore.objects.filter(case=case).first()
        return f"{scored.score:.1f}" if scored else "not scored"


@admin.register(CaseScore)
class CaseScoreAdmin(admin.ModelAdmin[CaseScore]):
    list_display = ("case", "score", "classification", "config_version", "scored_at")
    list_filter = ("classification", "config_version")
    ordering = ("-score",)
    readonly_fields = (
        "case",
        "classification",
        "score",
        "baseline",
        "contributions",
        "config_version",
        "scored_at",
    )


@admin.register(ScoringConfigVersion)
class ScoringConfigAdmin(admin.ModelAdmin[ScoringConfigVersion]):
    """Read-only here: `manage.py scoring_config activate FILE` validates a new version, makes
    it active and rescores every case, so a stored score always names a real configuration."""

    list_display = ("version", "active", "note", "created_at")
    readonly_fields = ("version", "config", "active", "note", "created_by", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ScreeningList)
class ScreeningListAdmin(admin.ModelAdmin[ScreeningList]):
    list_display = ("name", "layout", "entries_count", "active", "imported_at")


@admin.register(CaseOverride)
class CaseOverrideAdmin(admin.ModelAdmin[CaseOverride]):
    list_display = ("report_a", "kind", "report_b", "created_by", "created_at")
