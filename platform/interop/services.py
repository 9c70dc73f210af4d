"""Writes for STIX and TAXII: the TAXII projection of report versions, collections, imports and
pulls. Each is one transaction that checks role and clearance and writes its audit entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import AUTHOR_ROLES, clearance_of, profile_of
from audit.services import record
from core.bulk import copy_create
from core.enqueue import after_commit
from core.markings import Classification, MarkingError
from core.nodes import NODE_DIRECTORY
from core.selectors import this_node
from federation.services.partners import UnsafePartnerURL, check_partner_url
from reports.models import Report, ReportVersion, Status
from reports.services import EntityInput, ReportContent, create_report, revise_report

from .models import (
    ImportedObject,
    ImportedReport,
    ImportRun,
    PullSource,
    StixObject,
    TaxiiCollection,
    TaxiiStatus,
)
from .selectors import entities_of, snapshot_of
from .stix.export import node_identity, report_objects, security_marking
from .stix.extensions import definitions_author, extension_definitions
from .stix.imports import BundleError, DraftPlan, ImportPlan, object_version, plan_import

# --- the TAXII projection ----------------------------------------------------------------------


def _row(obj: dict[str, Any], now: datetime, **marks: Any) -> StixObject:
    stamp = obj.get("modified") or obj.get("created")
    version = datetime.fromisoformat(stamp) if isinstance(stamp, str) else now
    return StixObject(
        stix_id=obj["id"],
        stix_type=obj["type"],
        spec_version=str(obj.get("spec_version", "2.1")),
        version=version,
        date_added=now,
        body=obj,
        **marks,
    )


def _store(rows: list[StixObject]) -> None:
    """Insert object versions in two statements, keeping `is_latest` and `is_first` true on
    exactly one row of each object id."""
    ids = sorted({r.stix_id for r in rows})
    if not ids:
        return
    with connection.cursor() as cursor:
        # Every id that has rows has exactly one latest row: the ids returned had versions before.
        cursor.execute(
            "UPDATE interop_stixobject SET is_latest = false"
            " WHERE is_latest AND stix_id = ANY(%s) RETURNING stix_id",
            [ids],
        )
        seen = {row[0] for row in cursor.fetchall()}
    later: set[str] = set()
    for row in reversed(rows):  # within one batch the last row of an id is the latest
        row.is_latest = row.stix_id not in later
        later.add(row.stix_id)
    for row in rows:
        row.is_first = row.stix_id not in seen
        seen.add(row.stix_id)
    copy_create(rows)  # COPY: a multi-row INSERT cost ~30 ms a report in psycopg quoting


def _store_shared(
    markings: set[tuple[str, tuple[str, ...], bool]], nodes: set[str], now: datetime
) -> None:
    """Definitions every bundle refers to (extension definitions, producers, our marking
    definitions), served once each: one INSERT that skips those already held."""
    wanted: list[tuple[dict[str, Any], int]] = [(definitions_author(), 0)]
    wanted += [(d, 0) for d in extension_definitions()]
    for code in sorted(nodes):
        entry = NODE_DIRECTORY.get(code)
        wanted.append((node_identity(code, entry.name if entry else code.upper()), 0))
    for level, rel_to, orcon in sorted(markings):
        wanted.append((security_marking(level, rel_to, orcon), int(Classification[level])))
    StixObject.objects.bulk_create(
        [_row(o, now, classification=c) for o, c in wanted], ignore_conflicts=True
    )


def project_versions(versions: Sequence[ReportVersion]) -> None:
    """VERSION_HOOK: every published or withdrawn version becomes TAXII object versions (a
    withdrawal as revoked versions); drafts are never served. An analyst's own write is
    projected in its transaction; a received batch after commit on the worker, so the
    federation inbox does not pay for STIX (its batch stays a fixed number of queries)."""
    served = [v for v in versions if v.status != Status.DRAFT]
    local = [v for v in served if v.author_id is not None]
    received = [v.pk for v in served if v.author_id is None]
    if local:
        project_now(local)
    if received:
        after_commit("interop.tasks.project_received", received)


PROJECTION_LOCK = 0x7374_6978  # one projection at a time keeps is_latest/is_first exact


@transaction.atomic
def project_received(version_ids: list[int]) -> int:
    """The worker's half of `project_versions`: idempotent (a redelivered task adds nothing)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PROJECTION_LOCK])
    versions = list(
        ReportVersion.objects.filter(pk__in=version_ids).select_related("report").order_by("pk")
    )
    done = set(
        StixObject.objects.filter(
            report_id__in={v.report_id for v in versions}, collection__isnull=True
        ).values_list("report_id", "report_version")
    )
    todo = [v for v in versions if (v.report_id, v.version) not in done]
    project_now(todo)
    return len(todo)


def project_now(versions: Sequence[ReportVersion]) -> None:
    """Write the object versions: one query for the entities, then three writes."""
    if not versions:
        return
    now = timezone.now()
    entities = entities_of(versions)
    rows: list[StixObject] = []
    markings: set[tuple[str, tuple[str, ...], bool]] = set()
    nodes: set[str] = set()
    for version in versions:
        report = version.report
        # Served versions are signed: ours at publication (the federation hook, same
        # transaction), a partner's verified before the inbox stored it.
        provenance = {"signature_status": "verified"}
        snap = snapshot_of(version, provenance, entities=entities.get(version.pk, ()))
        markings.add((snap.classification, snap.rel_to, snap.orcon))
        nodes.add(report.origin)
        marks = {
            "report_id": report.pk,
            "report_version": version.version,
            "classification": version.classification,
            "tlp": version.tlp,
            "category": version.category,
            "origin": report.origin,
            "rel_nodes": list(version.rel_nodes),
            "orcon": version.orcon,
        }
        rows += [_row(obj, now, **marks) for obj in report_objects(snap)]
    _store_shared(markings, nodes, now)
    _store(rows)


# --- collections -------------------------------------------------------------------------------


def _require_trust_admin(user: User) -> None:
    profile = profile_of(user)
    if not (profile and profile.role == Role.TRUST_ADMIN):
        raise PermissionDenied("defining TAXII collections needs the trust administrator role")


@transaction.atomic
def define_collection(*, user: User, title: str, **rules: Any) -> TaxiiCollection:
    """A collection with its filter (classification ceiling, TLP colours, categories, origins,
    REL TO partner, ORCON); only a trust administrator defines one."""
    _require_trust_admin(user)
    if not title.strip():
        raise ValidationError({"title": ["a collection needs a title"]})
    partner = rules.get("releasable_to", "")
    if partner and NODE_DIRECTORY.get(partner) is None:
        raise ValidationError({"releasable_to": [f"unknown node {partner!r}"]})
    collection = TaxiiCollection(title=title.strip(), created_by=user, **rules)
    collection.full_clean()
    collection.save()
    from .selectors import describe_filter

    record(
        user,
        "taxii.collection_define",
        str(collection.pk),
        {"title": title, "filter": describe_filter(collection)},
    )
    return collection


# --- imports -----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    run: ImportRun | None
    reports: list[Report] = field(default_factory=list)
    new_objects: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def _require_drafting(user: User) -> None:
    profile = profile_of(user)
    if profile is None or profile.role not in AUTHOR_ROLES:
        raise PermissionDenied("importing into drafts needs the analyst or releaser role")


def _content(plan: DraftPlan, node: str) -> tuple[ReportContent, dict[str, Any]]:
    c = plan.content
    marking = dict(c["markings"])
    original = dict(marking)
    # A draft is this node's own report: its REL TO must name this node; if the producer's list
    # did not, the draft stays here (REL TO this node only) until an analyst decides.
    if node not in NODE_DIRECTORY.expand(
        t for t in marking["rel_to"] if NODE_DIRECTORY.is_known(t)
    ):
        marking["rel_to"] = [node]
    content = ReportContent(
        title=c["title"],
        summary=c["summary"],
        category=c["category"],
        classification=marking["classification"],
        rel_to=list(marking["rel_to"]),
        orcon=bool(marking["orcon"]),
        tlp=marking["tlp"],
        source_reliability=c["source_reliability"],
        info_credibility=c["info_credibility"],
        details=c["details"],
        event_start=date.fromisoformat(c["event_start"]) if c.get("event_start") else None,
        event_end=date.fromisoformat(c["event_end"]) if c.get("event_end") else None,
        entities=[
            EntityInput(e["kind"], e["name"], e["role"], e.get("country", ""))
            for e in c["entities"]
        ],
        change_note="Imported from STIX",
    )
    return content, original


def _write_draft(user: User, plan: DraftPlan, run: ImportRun, source: str, index: int) -> Report:
    node = this_node().code
    content, original = _content(plan, node)
    try:
        existing = (
            ImportedReport.objects.select_related("report").filter(stix_id=plan.stix_id).first()
        )
        if existing is not None and existing.report.status == Status.DRAFT:
            version = revise_report(
                author=user,
                report_id=existing.report.pk,
                base_version=existing.report.current_version,
                content=content,
            )
            return version.report
        version = create_report(author=user, content=content, status=Status.DRAFT)
    except MarkingError as exc:
        raise BundleError(
            index, plan.stix_id, f"object_marking_refs ({exc.field})", exc.message
        ) from None
    except ValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        name, messages = next(iter(detail.items()))
        raise BundleError(index, plan.stix_id, name or "(object)", "; ".join(messages)) from None
    except PermissionDenied as exc:
        raise BundleError(index, plan.stix_id, "object_marking_refs", str(exc)) from None
    ImportedReport.objects.update_or_create(
        stix_id=plan.stix_id,
        defaults={
            "report": version.report,
            "run": run,
            "source": source,
            "original_marking": original,
        },
    )
    return version.report


@transaction.atomic
def import_bundle(
    *,
    user: User,
    data: Any,
    source: str,
    pull_source: PullSource | None = None,
    collection: TaxiiCollection | None = None,
) -> ImportResult:
    """A STIX 2.1 bundle (or TAXII envelope) into local drafts marked as imported. Refused whole
    (BundleError naming the object and field) or written whole; object versions seen before
    create nothing."""
    _require_drafting(user)
    plan: ImportPlan = plan_import(data, this_node().code)
    keys = {(o["id"], object_version(o)) for o in plan.objects}
    seen = set(
        ImportedObject.objects.filter(stix_id__in={k[0] for k in keys}).values_list(
            "stix_id", "version"
        )
    )
    fresh = [o for o in plan.objects if (o["id"], object_version(o)) not in seen]
    result = ImportResult(run=None, duplicates=[o["id"] for o in plan.objects if o not in fresh])
    if not fresh:
        return result
    run = ImportRun.objects.create(
        source=source[:500],
        pull_source=pull_source,
        imported_by=user,
        object_count=len(plan.objects),
    )
    fresh_ids = {o["id"] for o in fresh}
    index_of = {o["id"]: i for i, o in enumerate(plan.objects)}
    report_of: dict[str, Report] = {}
    mapped: set[str] = set()
    for draft in plan.drafts:
        if draft.stix_id not in fresh_ids:
            continue
        report = _write_draft(user, draft, run, source, index_of[draft.stix_id])
        result.reports.append(report)
        for object_id in (*draft.mapped_ids, *draft.kept_ids):
            report_of.setdefault(object_id, report)
        mapped.update(draft.mapped_ids)
    rows: list[ImportedObject] = []
    for obj in fresh:
        if (obj["id"], object_version(obj)) in {(r.stix_id, r.version) for r in rows}:
            continue  # the same version twice in one bundle
        rows.append(
            ImportedObject(
                run=run,
                stix_id=obj["id"],
                stix_type=obj["type"],
                version=object_version(obj),
                body=obj,
                report=report_of.get(obj["id"]),
                mapped=obj["id"] in mapped,
            )
        )
    ImportedObject.objects.bulk_create(rows)
    result.new_objects = [r.stix_id for r in rows]
    run.new_objects = len(rows)
    run.reports_created = len(result.reports)
    run.save(update_fields=["new_objects", "reports_created"])
    if collection is not None:
        _serve_added(collection, fresh, report_of)
    record(
        user,
        "stix.import",
        str(run.pk),
        {
            "source": source[:200],
            "objects": len(rows),
            "drafts": [str(r.pk) for r in result.reports],
        },
    )
    result.run = run
    return result


def _serve_added(
    collection: TaxiiCollection, objects: list[dict[str, Any]], report_of: dict[str, Report]
) -> None:
    """Objects added to a writable collection are served back from it, marked as their draft."""
    now = timezone.now()
    rows = []
    for obj in objects:
        report = report_of.get(obj["id"])
        marks: dict[str, Any] = {
            "collection": collection,
            "classification": int(Classification.OFFICIAL),
        }
        if report is not None:
            marks |= {
                "report": report,
                "classification": report.classification,
                "tlp": report.tlp,
                "category": report.category,
                "origin": report.origin,
                "rel_nodes": list(report.rel_nodes),
            }
        rows.append(_row(obj, now, **marks))
    _store(rows)


def add_objects(*, user: User, collection: TaxiiCollection, data: Any) -> TaxiiStatus:
    """TAXII add-objects: import the envelope whole and record the status resource."""
    if not collection.can_write:
        raise PermissionDenied("this collection is not writable")
    with transaction.atomic():
        result = import_bundle(
            user=user,
            data=data,
            source=f"taxii:{collection.pk}:{user.get_username()}",
            collection=collection,
        )
        objects = data.get("objects", []) if isinstance(data, dict) else []
        successes = [
            {
                "id": o["id"],
                "version": object_version(o),
                "message": "imported" if o["id"] in result.new_objects else "already held",
            }
            for o in objects
        ]
        return TaxiiStatus.objects.create(
            owner=user, collection=collection, total_count=len(objects), successes=successes
        )


# --- pulls -------------------------------------------------------------------------------------


@transaction.atomic
def save_pull_source(
    *,
    user: User,
    name: str,
    collection_url: str,
    interval_minutes: int = 60,
    username: str = "",
    secret: str = "",
) -> PullSource:
    _require_drafting(user)
    if clearance_of(user) is None:
        raise PermissionDenied("no clearance")
    try:  # the address is checked again at every pull: a name may resolve elsewhere later
        check_partner_url(collection_url, resolve=False)
    except UnsafePartnerURL as exc:
        raise ValidationError(
            {"collection_url": [str(exc).replace("partner URL", "URL")]}
        ) from None
    source = PullSource(
        name=name,
        collection_url=collection_url,
        interval_minutes=interval_minutes,
        username=username,
        secret=secret,
        owner=user,
    )
    source.full_clean()
    source.save()
    record(
        user, "stix.pull_source_save", str(source.pk), {"name": name, "url": collection_url[:200]}
    )
    return source


def fetch_collection(source: PullSource, added_after: str | None) -> list[dict[str, Any]]:
    """Every STIX 2.1 object of the other server's collection, page by page (taxii2-client)."""
    import requests
    from taxii2client.v21 import Collection, as_pages

    auth: Any = None
    if not source.username and source.secret:
        secret = source.secret

        class _Token(requests.auth.AuthBase):
            def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
                r.headers["Authorization"] = f"Token {secret}"
                return r

        auth = _Token()
    collection = Collection(
        source.collection_url,
        user=source.username or None,
        password=source.secret if source.username else None,
        auth=auth,
    )
    filters: dict[str, Any] = {"spec_version": "2.1"}
    if added_after:
        filters["added_after"] = added_after
    objects: list[dict[str, Any]] = []
    for page in as_pages(collection.get_objects, per_request=100, **filters):
        objects += page.get("objects", [])
    return objects


class PullFailed(Exception):
    """The other server could not be reached or did not answer as a TAXII 2.1 server."""


def _fetch_or_fail(source: PullSource) -> list[dict[str, Any]]:
    import requests
    from taxii2client.exceptions import TAXIIServiceException

    try:
        check_partner_url(source.collection_url)
    except UnsafePartnerURL as exc:  # nothing is fetched, so nothing about the host is told
        reason = str(exc).replace("partner URL", "URL").replace("partner's host", "host")
        PullSource.objects.filter(pk=source.pk).update(
            last_pulled_at=timezone.now(), last_result=f"refused: {reason}"[:500]
        )
        raise PullFailed(f"{source.collection_url} may not be called: {reason}") from None
    try:
        return fetch_collection(source, source.added_after or None)
    except (requests.RequestException, TAXIIServiceException, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        PullSource.objects.filter(pk=source.pk).update(
            last_pulled_at=timezone.now(), last_result=f"failed: {reason}"[:500]
        )
        raise PullFailed(
            f"{source.collection_url} did not answer as a TAXII 2.1 collection"
        ) from exc


def pull_source(source: PullSource) -> ImportResult:
    """Pull what is new in the source's collection into drafts; the high-water mark moves only
    when the import committed. An unreachable or broken server is PullFailed, recorded."""
    started = timezone.now() - timedelta(seconds=5)
    try:
        objects = _fetch_or_fail(source)
        envelope = {"objects": objects}
        result = import_bundle(
            user=source.owner, data=envelope, source=f"pull:{source.name}", pull_source=source
        )
    except BundleError as exc:
        PullSource.objects.filter(pk=source.pk).update(
            last_pulled_at=timezone.now(), last_result=f"refused: {exc}"[:500]
        )
        raise
    summary = f"{len(result.new_objects)} new objects, {len(result.reports)} drafts"
    PullSource.objects.filter(pk=source.pk).update(
        last_pulled_at=timezone.now(),
        last_result=summary,
        added_after=started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    return result


def due_sources(now: datetime | None = None) -> list[PullSource]:
    moment = now or timezone.now()
    return [
        s
        for s in PullSource.objects.filter(enabled=True).select_related("owner")
        if s.last_pulled_at is None
        or s.last_pulled_at + timedelta(minutes=s.interval_minutes) <= moment
    ]
