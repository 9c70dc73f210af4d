"""Admin screens for reports. Versions are shown read-only: history is never edited by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.markings import Classification

from .models import Entity, Report, ReportEntity, ReportVersion


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(ReadOnlyInline):
    model = ReportVersion
    fields = ("version", "status", "title", "classification", "rel_to", "tlp", "created_at")
    readonly_fields = fields


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin[Report]):
    list_display = (
        "title",
        "origin",
        "category",
        "status",
        "marking",
        "current_version",
        "updated_at",
    )
    list_filter = ("category", "status", "origin", "classification", "tlp", "orcon")
    search_fields = ("title", "id")
    date_hierarchy = "updated_at"
    inlines = [VersionInline]
    readonly_fields = [f.name for f in Report._meta.fields]

    @admin.display(description="Marking")
    def marking(self, obj: Report) -> str:
        rel = ", ".join(code.upper() for code in obj.rel_to)
        return f"{Classification(obj.classification).name} // REL TO {rel}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Reports are written through the API or the workbench so markings are checked.
        return False


class LinkInline(ReadOnlyInline):
    model = ReportEntity
    fields = ("entity", "role")
    readonly_fields = fields


@admin.register(ReportVersion)
class ReportVersionAdmin(admin.ModelAdmin[ReportVersion]):
    list_display = ("report", "version", "status", "title", "classification", "created_at")
    list_filter = ("status", "category", "classification")
    search_fields = ("title", "report__id")
    inlines = [LinkInline]
    readonly_fields = [f.name for f in ReportVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin[Entity]):
    list_display = ("name", "kind", "country")
    list_filter = ("kind", "country")
    search_fields = ("name", "normalized_name")
