"""Reports as plain dicts in the documented report schema, the input of `riskscore`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from core.markings import Classification
from federation.models import Envelope
from reports.models import ReportEntity, ReportVersion


def report_documents(report_ids: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    """The current version of each report (all reports when `report_ids` is None)."""
    versions = ReportVersion.objects.filter(version=_current_version_expr())
    if report_ids is not None:
        # One array parameter, not one placeholder per id: a chunk holds 20,000 of them.
        versions = versions.extra(
            where=["reports_reportversion.report_id = ANY(%s::uuid[])"],
            params=[[str(r) for r in report_ids]],
        )
    rows = list(
        versions.values(
            "id",
            "report_id",
            "version",
            "report__origin",
            "title",
            "category",
            "status",
            "event_start",
            "event_end",
            "created_at",
            "source_reliability",
            "info_credibility",
            "classification",
            "rel_to",
            "orcon",
            "tlp",
            "details",
        )
    )
    entities: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for link in ReportEntity.objects.extra(
        where=["reports_reportentity.version_id = ANY(%s::bigint[])"],
        params=[[r["id"] for r in rows]],
    ).values("version_id", "role", "entity__kind", "entity__name", "entity__country"):
        entities[link["version_id"]].append(
            {
                "kind": link["entity__kind"],
                "name": link["entity__name"],
                "country": link["entity__country"] or None,
                "role": link["role"],
            }
        )
    relays: dict[str, list[str]] = defaultdict(list)
    for report_id, received_from, origin in (
        Envelope.objects.extra(
            where=["federation_envelope.report_id = ANY(%s::uuid[])"],
            params=[[str(r["report_id"]) for r in rows]],
        )
        .exclude(received_from="")
        .values_list("report_id", "received_from", "origin")
    ):
        if received_from != origin:
            relays[str(report_id)].append(received_from)
    return [
        {
            "id": str(r["report_id"]),
            "version": r["version"],
            "origin": r["report__origin"],
            "title": r["title"],
            "category": r["category"],
            "status": r["status"],
            "event_start": r["event_start"].isoformat() if r["event_start"] else None,
            "event_end": r["event_end"].isoformat() if r["event_end"] else None,
            "reported_at": r["created_at"].isoformat().replace("+00:00", "Z"),
            "source_reliability": r["source_reliability"],
            "info_credibility": r["info_credibility"],
            "markings": {
                "classification": Classification(r["classification"]).name,
                "rel_to": list(r["rel_to"]),
                "orcon": r["orcon"],
                "tlp": r["tlp"],
            },
            "relayed_by": sorted(set(relays.get(str(r["report_id"]), []))),
            "details": r["details"],
            "entities": entities.get(r["id"], []),
        }
        for r in rows
    ]


def _current_version_expr() -> Any:
    from django.db.models import F

    return F("report__current_version")
