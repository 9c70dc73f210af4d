"""Federation's technical state, read-only: partners' health, keys, manifests, deliveries,
manifest pushes and refusals. Partner policies change through two administrators in the trust
console; keys through `manage.py federation_keys` and the trust console; dead letters are
replayed from the trust console's federation page (audited). Envelopes and receipts carry
classified content and provenance, so they are not shown here."""

from __future__ import annotations

from django.contrib import admin

from core.adminsite import ReadOnlyAdmin

from .models import (
    AnonymousRefusal,
    Delivery,
    ManifestPush,
    OwnKey,
    OwnManifest,
    Partner,
    PartnerManifest,
    Refusal,
)


@admin.register(Partner)
class PartnerAdmin(ReadOnlyAdmin[Partner]):
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


@admin.register(OwnKey)
class OwnKeyAdmin(ReadOnlyAdmin[OwnKey]):
    list_display = ("kid", "use", "status", "fingerprint", "created_at")
    list_filter = ("use", "status")


@admin.register(OwnManifest)
class OwnManifestAdmin(ReadOnlyAdmin[OwnManifest]):
    list_display = ("version", "valid_until", "created_at")


@admin.register(PartnerManifest)
class PartnerManifestAdmin(ReadOnlyAdmin[PartnerManifest]):
    list_display = ("partner", "version", "valid_until", "fetched_at")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin[Delivery]):
    """Queue state only: the envelope (which names the report) is left out, since any trust
    administrator opens the admin whatever their clearance."""

    list_display = ("partner", "seq", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state", "partner")
    fields = (
        "partner",
        "seq",
        "state",
        "attempts",
        "replays",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
    )


@admin.register(ManifestPush)
class ManifestPushAdmin(ReadOnlyAdmin[ManifestPush]):
    list_display = ("partner", "version", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state",)


@admin.register(Refusal)
class RefusalAdmin(ReadOnlyAdmin[Refusal]):
    list_display = ("created_at", "partner", "code", "reason", "leak_suspected")
    list_filter = ("code", "partner", "leak_suspected")


@admin.register(AnonymousRefusal)
class AnonymousRefusalAdmin(ReadOnlyAdmin[AnonymousRefusal]):
    list_display = ("last_seen", "remote_addr", "path", "code", "count", "hour")
    list_filter = ("code", "path")
