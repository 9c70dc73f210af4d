"""TAXII collections, imports and pull sources. Collections are defined here by a trust
administrator through `interop.services.define_collection` (audited); the rest is read-only
(pull sources are saved through the API as the analyst whose clearance the drafts take)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.adminsite import ReadOnlyAdmin, may_use_admin

from . import services
from .models import ImportRun, PullSource, TaxiiCollection
from .selectors import describe_filter

RULES = ("description", "alias", "can_read", "can_write", "max_classification", "tlp",
         "categories", "origins", "releasable_to", "include_orcon")  # fmt: skip


@admin.register(TaxiiCollection)
class TaxiiCollectionAdmin(ReadOnlyAdmin[TaxiiCollection]):
    """A trust administrator defines a collection here, through the service (audited); a
    collection is never edited afterwards (clients may have paged it under its filter)."""

    list_display = ("title", "can_read", "can_write", "filter_shown")
    fields = ("title", *RULES)

    @admin.display(description="filter")
    def filter_shown(self, obj: TaxiiCollection) -> str:
        return describe_filter(obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return may_use_admin(request)

    def save_model(
        self, request: HttpRequest, obj: TaxiiCollection, form: Any, change: bool
    ) -> None:
        created = services.define_collection(
            user=request.user,  # type: ignore[arg-type]
            title=obj.title,
            **{name: getattr(obj, name) for name in RULES},
        )
        obj.pk = created.pk


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin[ImportRun]):
    list_display = ("pk", "source", "object_count", "new_objects", "reports_created", "created_at")


@admin.register(PullSource)
class PullSourceAdmin(ReadOnlyAdmin[PullSource]):
    list_display = (
        "name",
        "collection_url",
        "interval_minutes",
        "enabled",
        "last_pulled_at",
        "last_result",
    )
    exclude = ("secret",)
