"""Report builders shared by the linkage tests."""

from __future__ import annotations

from typing import Any

from riskscore.linkage import Clustering


def shipment(
    rid: str,
    consignee: str | None = None,
    country: str | None = "SG",
    *,
    address: str | None = None,
    serials: tuple[str, ...] = (),
    ref: str | None = None,
    day: str | None = "2026-09-01",
    model: str | None = None,
    quantity: int | None = None,
    level: str = "RESTRICTED",
    declared: str | None = None,
    forwarder: str | None = None,
    route: tuple[str, ...] = (),
    **top: Any,
) -> dict[str, Any]:
    details: dict[str, Any] = {"route": list(route)}
    if model is not None or serials:
        item: dict[str, Any] = {"model": model or "H100 SXM", "serials": list(serials)}
        item["quantity"] = quantity or 8
        details["items"] = [item]
    if consignee is not None:
        details["consignee"] = {"name": consignee, "country": country, "address": address}
    if ref is not None:
        details["shipment_ref"] = ref
    if declared is not None:
        details["declared_end_user"] = {"name": declared, "country": "AE"}
    if forwarder is not None:
        details["intermediaries"] = [
            {"name": forwarder, "country": "HK", "role": "freight_forwarder"}
        ]
    return {
        "id": rid,
        "version": top.get("version", 1),
        "origin": top.get("origin", "us"),
        "category": top.get("category", "chip_diversion"),
        "status": top.get("status", "published"),
        "relayed_by": top.get("relayed_by", []),
        "markings": {"classification": level},
        "event_start": day,
        "entities": [],
        "details": details,
    }


def groups(result: Clustering) -> list[set[str]]:
    return sorted((set(c.report_ids) for c in result.clusters), key=lambda s: sorted(s))


def together(result: Clustering, a: str, b: str) -> bool:
    return any(a in c.report_ids and b in c.report_ids for c in result.clusters)
