"""Reads for the federation: partners, their policies and their verified key manifests."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch

from core.markings import Classification
from core.selectors import this_node
from reports.models import Category, Report, ReportVersion

from .models import Delivery, Envelope, Partner, PartnerManifest, PartnerPolicy, PartnerStatus
from .policy import Policy, Release
from .protocol.manifest import Manifest, ManifestView, verify_manifest

_views: dict[str, tuple[int, ManifestView]] = {}
_views_lock = threading.Lock()
ALL_CATEGORIES = frozenset(Category.values)


def policy_for(partner: Partner) -> Policy:
    try:
        row: PartnerPolicy | None = partner.policy
    except PartnerPolicy.DoesNotExist:
        row = None
    if row is None:  # no policy yet: nothing flows
        return Policy(
            partner.code, False, Classification.OFFICIAL, frozenset(), frozenset(), frozenset()
        )
    return Policy(
        recipient=partner.code,
        active=partner.status == PartnerStatus.ACTIVE,
        ceiling=Classification(row.ceiling),
        categories=frozenset(row.categories),
        tlp_allowed=frozenset(row.tlp_allowed),
        relay_origins=frozenset(row.relay_origins),
    )


def own_receiving_policy(sender: Partner) -> Policy:
    """What this node accepts: its own accreditation (a breach if exceeded), every category,
    and relayed reports only from the origins our policy with the sender names (our local
    choice: a refusal for it is not a breach)."""
    sender_policy = policy_for(sender)
    return Policy(
        recipient=this_node().code,
        active=sender.status == PartnerStatus.ACTIVE,
        ceiling=Classification[settings.NODE_ACCREDITATION],
        # Empty = every category. Not the set of known ones: an unknown category is a schema
        # error in the payload (bad_payload), not a refusal by our policy.
        categories=frozenset(),
        tlp_allowed=frozenset(),
        relay_origins=sender_policy.relay_origins,
    )


def release_of(origin: str, category: str, markings: dict[str, object]) -> Release:
    rel_to = markings["rel_to"]
    assert isinstance(rel_to, list | tuple)
    return Release(
        origin=origin,
        category=category,
        classification=Classification[str(markings["classification"])],
        rel_to=tuple(str(code) for code in rel_to),
        orcon=bool(markings["orcon"]),
        tlp=str(markings["tlp"]),
    )


def manifest_views() -> dict[str, ManifestView]:
    """Verified partner manifests, cached per process and refreshed when a version changes.

    One small query per call; the rows were verified against the pinned roots when stored, and
    are verified again here when first loaded into this process.
    """
    current = dict(PartnerManifest.objects.values_list("partner__code", "version"))
    stale = [code for code, version in current.items() if _views.get(code, (None,))[0] != version]
    if stale:
        rows = PartnerManifest.objects.filter(partner__code__in=stale).select_related("partner")
        for row in rows:
            manifest = _reverify(row)
            with _views_lock:
                _views[row.partner.code] = (row.version, ManifestView(manifest))
    with _views_lock:
        for code in list(_views):
            if code not in current:
                del _views[code]
        return {code: view for code, (_, view) in _views.items()}


def _reverify(row: PartnerManifest) -> Manifest:
    # The stored manifest may have passed its validity window; key look-ups still work, and
    # freshness is the refresh task's job (it alerts on a manifest it cannot renew).
    now = min(int(time.time()), row.valid_until - 1)
    return verify_manifest(dict(row.body), set(row.partner.root_fingerprints), None, now)


def forget_cached_manifests() -> None:
    with _views_lock:
        _views.clear()


def active_partners() -> list[Partner]:
    return list(
        Partner.objects.filter(status=PartnerStatus.ACTIVE)
        .select_related("policy")
        .order_by("code")
    )


def provenance_of(report: Report, clearance: int) -> dict[str, Any]:
    """Signature status and path of every release of `report` held here whose version the
    reader (cleared to `clearance`) may see: a release of a version above it is not shown,
    not even its digest, key or recipients."""
    return provenances_of([report], clearance)[str(report.pk)]


def provenances_of(reports: Sequence[Report], clearance: int) -> dict[str, dict[str, Any]]:
    """`provenance_of` for many reports in a constant number of queries (three, however many
    reports and releases: the case page shows every member's)."""
    seen_version = ReportVersion.objects.filter(
        report_id=OuterRef("report_id"),
        version=OuterRef("local_version"),
        classification__lte=clearance,
    )
    deliveries = Prefetch(
        "deliveries", queryset=Delivery.objects.select_related("partner").order_by("partner_id")
    )
    envelopes = (
        Envelope.objects.filter(report__in=[r.pk for r in reports])
        .filter(Exists(seen_version))
        .order_by("report_id", "ver")
        .prefetch_related("receipts", deliveries)
    )
    found: dict[str, dict[str, Any]] = {
        str(r.pk): {"report": str(r.pk), "origin": r.origin, "releases": []} for r in reports
    }
    for envelope in envelopes:
        found[str(envelope.report_id)]["releases"].append(
            {
                "release": envelope.ver,
                "kind": "withdrawal" if envelope.typ == "fed.tombstone" else "report",
                "local_version": envelope.local_version,
                "digest": envelope.digest,
                "signed_by": {"node": envelope.origin, "key": envelope.origin_kid},
                # Only verified envelopes are ever stored: a row here means the origin signature
                # checked out with the key valid at issue time.
                "signature": "verified",
                # ISO 8601 like received_at (the signed envelope keeps epoch seconds).
                "issued_at": datetime.fromtimestamp(envelope.iat, UTC),
                "received_from": envelope.received_from or None,
                "countersigned_by": envelope.relay_kids,
                "paths": [
                    {"from": r.from_partner, "hops": r.hops, "received_at": r.received_at}
                    for r in envelope.receipts.all()
                ],
                "delivered_to": [
                    {"partner": d.partner.code, "state": d.state, "seq": d.seq}
                    for d in envelope.deliveries.all()
                ],
            }
        )
    return found
