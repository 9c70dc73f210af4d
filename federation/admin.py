"""Admin screens for trust: partners, policies, keys, deliveries, refusals."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import (
    Delivery,
    DeliveryState,
    Envelope,
    OwnKey,
    OwnManifest,
    Partner,
    PartnerManifest,
    PartnerPolicy,
    Receipt,
    Refusal,
)
from .services import outbox


class PolicyInline(admin.StackedInline[PartnerPolicy, Partner]):
    model = PartnerPolicy
    can_delete = False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin[Partner]):
    list_display = (
        "code",
        "name",
        "status",
        "base_url",
        "last_success_at",
        "consecutive_failures",
        "suspected_leak",
    )
    list_filter = ("status", "suspected_leak")
    readonly_fields = (
        "next_seq",
        "received_seq",
        "last_success_at",
        "consecutive_failures",
        "backoff_until",
        "last_error",
    )
    inlines = [PolicyInline]


@admin.register(OwnKey)
class OwnKeyAdmin(admin.ModelAdmin[OwnKey]):
    list_display = ("kid", "use", "status", "fingerprint", "created_at")
    list_filter = ("use", "status")
    readonly_fields = [f.name for f in OwnKey._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are made by `manage.py federation_keys`, private half on disk


@admin.register(OwnManifest)
class OwnManifestAdmin(admin.ModelAdmin[OwnManifest]):
    list_display = ("version", "valid_until", "created_at")
    readonly_fields = ("version", "body", "valid_until", "created_at")


@admin.register(PartnerManifest)
class PartnerManifestAdmin(admin.ModelAdmin[PartnerManifest]):
    list_display = ("partner", "version", "valid_until", "fetched_at")
    readonly_fields = ("partner", "version", "body", "valid_until", "fetched_at")


@admin.register(Envelope)
class EnvelopeAdmin(admin.ModelAdmin[Envelope]):
    list_display = ("report", "ver", "typ", "origin", "received_from", "origin_kid", "created_at")
    list_filter = ("typ", "origin", "received_from")
    readonly_fields = [f.name for f in Envelope._meta.fields]


@admin.register(Receipt)
class ReceiptAdmin(admin.ModelAdmin[Receipt]):
    list_display = ("envelope", "from_partner", "received_at")


@admin.action(description="Replay the selected dead letters")
def replay(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
    total = 0
    for code in set(queryset.values_list("partner__code", flat=True)):
        ids = queryset.filter(partner__code=code, state=DeliveryState.DEAD).values_list(
            "pk", flat=True
        )
        total += outbox.replay_dead_letters(code, list(ids))
    messages.info(request, f"{total} dead letters queued again")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = ("partner", "seq", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state", "partner")
    actions = [replay]
    readonly_fields = [f.name for f in Delivery._meta.fields]


@admin.register(Refusal)
class RefusalAdmin(admin.ModelAdmin[Refusal]):
    list_display = ("created_at", "partner", "code", "reason", "leak_suspected")
    list_filter = ("code", "partner", "leak_suspected")
    readonly_fields = [f.name for f in Refusal._meta.fields]
