"""Cases, scores and analysts' overrides are not in the admin: they hold classified content and
change only through the case services. The scoring configuration and the screening lists are
shown read-only (`manage.py scoring_config activate FILE` and the list import make new ones)."""

from __future__ import annotations

from django.contrib import admin

from core.adminsite import ReadOnlyAdmin

from .models import ScoringConfigVersion, ScreeningList


@admin.register(ScoringConfigVersion)
class ScoringConfigAdmin(ReadOnlyAdmin[ScoringConfigVersion]):
    list_display = ("version", "state", "note", "created_at")
    fields = (
        "version",
        "config",
        "state",
        "evaluation",
        "note",
        "created_by",
        "created_at",
        "decided_by",
        "decided_at",
    )


@admin.register(ScreeningList)
class ScreeningListAdmin(ReadOnlyAdmin[ScreeningList]):
    list_display = ("name", "layout", "entries_count", "active", "imported_at")
