from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Sum

from federation.models import (
    AnonymousRefusal,
    Delivery,
    ManifestPush,
    Partner,
    PartnerManifest,
    Refusal,
)
from federation.services.audit_anchor import anchoring_status
from reports.models import ReportVersion


class Command(BaseCommand):
    help = (
        "Federation health as JSON: outbox states, manifest pushes and refusals per partner, "
        "partner manifests."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reports",
            default="",
            help="comma-separated report ids: count the versions held of each",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        outbox: dict[str, dict[str, int]] = {}
        for row in Delivery.objects.values("partner__code", "state").annotate(n=Count("id")):
            outbox.setdefault(row["partner__code"], {})[row["state"]] = row["n"]
        refusals: dict[str, dict[str, int]] = {}
        for row in Refusal.objects.values("partner", "code").annotate(n=Count("id")):
            refusals.setdefault(row["partner"], {})[row["code"]] = row["n"]
        anonymous = dict(
            AnonymousRefusal.objects.values_list("code")
            .annotate(n=Sum("count"))
            .values_list("code", "n")
        )
        manifests = {
            m.partner.code: {"version": m.version, "revoked": sorted(m.body.get("revoked", {}))}
            for m in PartnerManifest.objects.select_related("partner")
        }
        partners = {
            p.code: {
                "status": p.status,
                "received_seq": p.received_seq,
                "suspected_leak": p.suspected_leak,
                "failures": p.consecutive_failures,
            }
            for p in Partner.objects.all()
        }
        # Our manifest owed to each partner: pending pushes are a revocation not yet heard.
        pushes = {
            p.partner.code: {
                "version": p.version,
                "state": p.state,
                "attempts": p.attempts,
                "acknowledged_version": p.acknowledged_version,
                "last_error": p.last_error,
            }
            for p in ManifestPush.objects.select_related("partner")
        }
        status: dict[str, Any] = {
            "outbox": outbox,
            "manifest_pushes": pushes,
            "refusals": refusals,
            "anonymous_refusals": anonymous,
            "manifests": manifests,
            "partners": partners,
            "audit_anchors": anchoring_status(),
        }
        ids = [i for i in options["reports"].split(",") if i]
        if ids:
            rows = (
                ReportVersion.objects.filter(report_id__in=ids)
                .values("report_id")
                .annotate(n=Count("id"))
            )
            status["versions"] = {str(r["report_id"]): r["n"] for r in rows}
        self.stdout.write(json.dumps(status))
