"""Reads for STIX export and TAXII. Every read starts from the reports selector, so what a TAXII
client or an export sees is what the same account sees in the workbench."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from accounts.selectors import clearance_of
from cases.models import Case
from cases.selectors import case_reports, visible_cases
from core.markings import Classification
from core.nodes import NODE_DIRECTORY
from core.selectors import this_node
from reports.models import Report, ReportEntity, ReportVersion
from reports.selectors import visible_reports

# The roles a version's details imply; content_of leaves them out the same way.
from reports.services import _DERIVED_ROLES as DERIVED_ROLES

from .models import ImportedObject, ImportedReport, StixObject, TaxiiCollection, TaxiiStatus
from .stix.export import (
    EntitySnapshot,
    ReportSnapshot,
    case_grouping,
    derived_id,
    report_objects,
    shared_objects,
)


def visible_objects(user: AbstractBaseUser | AnonymousUser) -> QuerySet[StixObject]:
    """Object versions the user may see: at or below their clearance, and either a shared
    definition or part of a report `visible_reports` lets them see."""
    clearance = clearance_of(user)
    if clearance is None:
        return StixObject.objects.none()
    reports = visible_reports(user).filter(pk=OuterRef("report_id"))
    return StixObject.objects.filter(classification__lte=int(clearance)).filter(
        Q(report__isnull=True) | Exists(reports)
    )


def collection_filter(collection: TaxiiCollection) -> Q:
    """The administrator's filter; shared definitions pass it, objects added here always do."""
    q = Q()
    if collection.max_classification:
        q &= Q(classification__lte=collection.max_classification)
    rules = Q()
    if collection.tlp:
        rules &= Q(tlp__in=collection.tlp)
    if collection.categories:
        rules &= Q(category__in=collection.categories)
    if collection.origins:
        rules &= Q(origin__in=collection.origins)
    if collection.releasable_to:
        rules &= Q(rel_nodes__contains=[collection.releasable_to])
    if not collection.include_orcon:
        rules &= Q(orcon=False)
    return Q(collection=collection) | (
        Q(collection__isnull=True) & q & (Q(report__isnull=True) | rules)
    )


def describe_filter(collection: TaxiiCollection) -> str:
    parts = []
    if collection.max_classification:
        parts.append(f"classification ≤ {Classification(collection.max_classification).name}")
    if collection.tlp:
        parts.append("TLP " + ", ".join(c.upper() for c in collection.tlp))
    if collection.categories:
        parts.append("categories " + ", ".join(collection.categories))
    if collection.origins:
        parts.append("from " + ", ".join(o.upper() for o in collection.origins))
    if collection.releasable_to:
        parts.append(f"REL TO includes {collection.releasable_to.upper()}")
    parts.append("ORCON included" if collection.include_orcon else "no ORCON")
    return "; ".join(parts)


def readable_collections(user: AbstractBaseUser | AnonymousUser) -> QuerySet[TaxiiCollection]:
    if clearance_of(user) is None:
        return TaxiiCollection.objects.none()
    return TaxiiCollection.objects.order_by("title", "id")


def get_collection(user: AbstractBaseUser | AnonymousUser, key: str) -> TaxiiCollection | None:
    collections = readable_collections(user)
    try:
        return collections.filter(pk=uuid.UUID(key)).first()
    except ValueError:
        return collections.filter(alias=key).first()


class BadRequest(ValueError):
    """A query parameter the TAXII spec does not allow; the message says which."""


@dataclass(frozen=True)
class ObjectQuery:
    types: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)
    spec_versions: tuple[str, ...] = ()
    added_after: datetime | None = None
    limit: int = 100
    next: tuple[datetime, int] | None = None


def encode_next(row: StixObject) -> str:
    raw = f"{row.date_added.isoformat()}|{row.seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_next(token: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        added, seq = raw.split("|")
        return datetime.fromisoformat(added), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("'next' is not a token this server gave") from None


def _version_q(values: tuple[str, ...]) -> Q:
    q = Q()
    for value in values:
        if value == "last":
            q |= Q(is_latest=True)
        elif value == "first":
            q |= Q(is_first=True)
        elif value == "all":
            return Q()
        else:
            try:
                q |= Q(version=datetime.fromisoformat(value))
            except ValueError:
                raise BadRequest(
                    f"match[version]: {value!r} is not last, first, all or a timestamp"
                ) from None
    return q


def page_objects(
    user: AbstractBaseUser | AnonymousUser,
    collection: TaxiiCollection,
    query: ObjectQuery,
    *,
    object_id: str | None = None,
    with_body: bool = False,
) -> tuple[list[StixObject], bool]:
    """One keyset page in (date_added, seq) order, and whether more follow. The index on
    (date_added, seq) serves it: no page sorts the whole collection."""
    rows = visible_objects(user).filter(collection_filter(collection))
    if object_id is not None:
        rows = rows.filter(stix_id=object_id)
    if query.types:
        rows = rows.filter(stix_type__in=query.types)
    if query.ids:
        rows = rows.filter(stix_id__in=query.ids)
    if query.spec_versions:
        rows = rows.filter(spec_version__in=query.spec_versions)
    rows = rows.filter(_version_q(query.versions))
    if query.added_after is not None:
        rows = rows.filter(date_added__gt=query.added_after)
    if query.next is not None:
        rows = rows.filter(
            RawSQL(
                '("interop_stixobject"."date_added", "interop_stixobject"."seq") > (%s, %s)',
                query.next,
                output_field=BooleanField(),
            )
        )
    rows = rows.defer("body")
    if with_body:  # the JSON text as stored: the response embeds it without decoding it
        rows = rows.annotate(body_text=Cast("body", TextField()))
    page = list(rows.order_by("date_added", "seq")[: query.limit + 1])
    return page[: query.limit], len(page) > query.limit


def status_of(user: AbstractBaseUser | AnonymousUser, status_id: str) -> TaxiiStatus | None:
    try:
        key = uuid.UUID(status_id)
    except ValueError:
        return None
    return TaxiiStatus.objects.filter(pk=key, owner_id=user.pk).first()


# --- export ------------------------------------------------------------------------------------


def _provenance(report: Report, version: ReportVersion) -> dict[str, str]:
    from federation.models import Envelope

    envelope = (
        Envelope.objects.filter(report=report, local_version=version.version)
        .only("origin_kid", "digest", "received_from")
        .first()
    )
    imported = ImportedReport.objects.filter(report=report).only("source").first()
    out = {"imported_from": imported.source if imported else ""}
    if envelope is not None:
        out |= {
            "signature_status": "verified",
            "signed_by_key": envelope.origin_kid,
            "envelope_digest": envelope.digest,
            "received_from": envelope.received_from,
        }
    elif imported is not None:
        out["signature_status"] = "imported-unsigned"
    elif report.origin != this_node().code:
        out["signature_status"] = "verified"  # the inbox stores nothing it did not verify
    return out


def entities_of(versions: Sequence[ReportVersion]) -> dict[int, tuple[EntitySnapshot, ...]]:
    """The entities an author named on each version (not those its details imply), in one query."""
    found: dict[int, list[EntitySnapshot]] = {}
    links = ReportEntity.objects.filter(version__in=[v.pk for v in versions]).select_related(
        "entity"
    )
    for link in links.exclude(role__in=DERIVED_ROLES).order_by("pk"):
        e = link.entity
        found.setdefault(link.version_id, []).append(
            EntitySnapshot(e.kind, e.name, link.role, e.country)
        )
    return {key: tuple(value) for key, value in found.items()}


def snapshot_of(
    version: ReportVersion,
    provenance: dict[str, str] | None = None,
    entities: tuple[EntitySnapshot, ...] | None = None,
) -> ReportSnapshot:
    report = version.report
    if entities is None:
        entities = entities_of([version]).get(version.pk, ())
    entry = NODE_DIRECTORY.get(report.origin)
    return ReportSnapshot(
        report_id=str(report.pk),
        version=version.version,
        title=version.title,
        summary=version.summary,
        category=version.category,
        classification=Classification(version.classification).name,
        rel_to=tuple(version.rel_to),
        orcon=version.orcon,
        tlp=version.tlp,
        status=version.status,
        source_reliability=version.source_reliability,
        info_credibility=version.info_credibility,
        details=dict(version.details),
        created=report.created_at,
        modified=version.created_at,
        origin=report.origin,
        origin_name=getattr(entry, "name", "") or report.origin.upper(),
        event_start=version.event_start,
        event_end=version.event_end,
        entities=entities,
        **(provenance or {}),
    )


def _bundle(objects: list[dict[str, Any]], snaps: list[ReportSnapshot], key: str) -> dict[str, Any]:
    markings = [(s.classification, s.rel_to, s.orcon) for s in snaps]
    nodes = [(s.origin, s.origin_name) for s in snaps] + [(this_node().code, this_node().name)]
    everything = {o["id"]: o for o in [*shared_objects(markings, nodes), *objects]}
    return {"type": "bundle", "id": _bundle_id(key), "objects": list(everything.values())}


def _bundle_id(key: str) -> str:
    return derived_id("bundle", key)


def report_bundle(
    user: AbstractBaseUser | AnonymousUser, report_id: uuid.UUID
) -> dict[str, Any] | None:
    """The report's current version as a bundle, if the user may see it (None otherwise)."""
    report = visible_reports(user).filter(pk=report_id).first()
    if report is None:
        return None
    version = report.versions.prefetch_related("links__entity").get(version=report.current_version)
    snap = snapshot_of(version, _provenance(report, version))
    return _bundle(report_objects(snap), [snap], f"report/{report.pk}/{version.version}")


def case_bundle(user: AbstractBaseUser | AnonymousUser, case_id: int) -> dict[str, Any] | None:
    """A case as a `grouping` of the reports in it the user may see, with those reports."""
    case: Case | None = visible_cases(user).filter(pk=case_id).first()
    if case is None:
        return None
    snaps = []
    objects: list[dict[str, Any]] = []
    for report in case_reports(user, case):
        version = report.versions.prefetch_related("links__entity").get(
            version=report.current_version
        )
        snap = snapshot_of(version, _provenance(report, version))
        snaps.append(snap)
        objects += report_objects(snap)
    scored = getattr(case, "scored", None)
    level = Classification(case.classification).name
    tlp = _strictest_tlp([s.tlp for s in snaps])
    me = this_node().code
    grouping = case_grouping(
        case_id=case.pk,
        title=case.title,
        classification=level,
        rel_to=(me,),
        tlp=tlp,
        node=me,
        created=min((s.created for s in snaps), default=case.updated_at),
        modified=case.updated_at,
        report_refs=[f"report--{s.report_id}" for s in snaps] or [f"report--{uuid.UUID(int=0)}"],
        score={
            "score": scored.score,
            "baseline": scored.baseline,
            # Stored lines carry their share as "points"; the extension names it "contribution".
            "contributions": [
                {"feature": c["feature"], "contribution": c["points"]} for c in scored.contributions
            ],
        }
        if scored
        else None,
        origins=list(case.origins),
        countries=list(case.countries),
    )
    snaps_for_marking = [*snaps]
    bundle = _bundle(
        [grouping, *objects], snaps_for_marking, f"case/{case.pk}/{case.updated_at.isoformat()}"
    )
    from .stix.export import security_marking

    bundle["objects"].append(security_marking(level, (me,), False))
    return bundle


_TLP_ORDER = ["clear", "green", "amber", "amber+strict", "red"]


def _strictest_tlp(colours: list[str]) -> str:
    return max(colours, key=_TLP_ORDER.index) if colours else "amber"


def imported_objects_of(report: Report) -> QuerySet[ImportedObject]:
    """Objects that arrived with an imported draft, mapped or kept as received."""
    return ImportedObject.objects.filter(report=report).order_by("stix_type", "stix_id")


def import_of(report: Report) -> ImportedReport | None:
    return ImportedReport.objects.filter(report=report).select_related("run").first()
