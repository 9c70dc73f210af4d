"""Writes for reports. Every write is one transaction: a version is made whole or not at all."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.selectors import clearance_of, may_author, may_publish
from audit.services import refusals_audited
from core.bulk import copy_create
from core.errors import flatten_errors
from core.markings import Marking, build_marking
from core.nodes import NODE_DIRECTORY
from core.selectors import this_node

from .details import countries_named, validate_details
from .models import Entity, EntityRole, Report, ReportEntity, ReportVersion, Status
from .validators import validate_event_date


@dataclass(frozen=True)
class EntityInput:
    kind: str
    name: str
    role: str
    country: str = ""


@dataclass(frozen=True)
class ReportContent:
    """Everything an author writes for one version, already type-checked by the API layer."""

    title: str
    summary: str
    category: str
    classification: str
    rel_to: list[str]
    orcon: bool
    tlp: str
    source_reliability: str
    info_credibility: int
    details: dict[str, Any]
    event_start: date | None = None
    event_end: date | None = None
    entities: list[EntityInput] = field(default_factory=list)
    change_note: str = ""


class VersionConflict(Exception):
    """The caller edited a version that is no longer the current one."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the report is at version {current}; reload and edit that version")
        self.current = current


def normalise_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", stripped.casefold())).strip()


def _check_content(
    content: ReportContent, origin: str, *, details_validated: bool = False
) -> tuple[Marking, dict[str, Any]]:
    marking = build_marking(
        classification=content.classification,
        rel_to=content.rel_to,
        orcon=content.orcon,
        tlp=content.tlp,
        origin=origin,
    )
    for name in ("event_start", "event_end"):
        try:
            validate_event_date(getattr(content, name))
        except ValidationError as exc:
            raise ValidationError({name: exc.messages}) from None
    if content.event_start and content.event_end and content.event_end < content.event_start:
        raise ValidationError({"event_end": ["event_end is before event_start"]})
    if details_validated:
        return marking, content.details
    try:
        details = validate_details(content.category, content.details)
    except Exception as exc:  # rest_framework ValidationError carries the field structure
        detail = getattr(exc, "detail", None)
        if detail is None:
            raise
        raise ValidationError(flatten_errors(detail)) from None
    return marking, details


def _require_author(user: User) -> None:
    if not may_author(user):
        raise PermissionDenied("writing reports needs the analyst or releaser role")


def _require_clearance(user: User, marking: Marking) -> None:
    clearance = clearance_of(user)
    if clearance is None or clearance < marking.classification:
        raise PermissionDenied("you may not write a report above your own clearance")


def _derived_entities(details: dict[str, Any]) -> list[EntityInput]:
    roles = {
        "consignee": EntityRole.CONSIGNEE,
        "declared_end_user": EntityRole.END_USER,
        "suspected_end_user": EntityRole.END_USER,
        "organisation": EntityRole.DEVELOPER,
        "provider": EntityRole.PROVIDER,
        "customer": EntityRole.CUSTOMER,
    }
    found: list[EntityInput] = []
    for key, role in roles.items():
        party = details.get(key)
        if isinstance(party, dict) and party.get("name"):
            found.append(
                EntityInput("organisation", party["name"], role, party.get("country") or "")
            )
            if party.get("address"):
                found.append(
                    EntityInput(
                        "address",
                        party["address"],
                        EntityRole.REGISTERED_ADDRESS,
                        party.get("country") or "",
                    )
                )
    for party in details.get("intermediaries") or []:
        found.append(
            EntityInput(
                "organisation", party["name"], EntityRole.INTERMEDIARY, party.get("country") or ""
            )
        )
    return found


def _shared_fields(
    content: ReportContent, marking: Marking, details: dict[str, Any], status: str
) -> dict[str, Any]:
    """The fields a version shares with its report's current-version copy."""
    return {
        "title": content.title,
        "category": content.category,
        "status": status,
        "classification": int(marking.classification),
        "rel_to": list(marking.rel_to),
        "rel_nodes": sorted(NODE_DIRECTORY.expand(marking.rel_to)),
        "orcon": marking.orcon,
        "tlp": marking.tlp,
        "event_start": content.event_start,
        "event_end": content.event_end,
        "countries": countries_named(content.category, details),
    }


def _write_version(
    report: Report,
    version_number: int,
    content: ReportContent,
    marking: Marking,
    details: dict[str, Any],
    status: str,
    author: User | None,
) -> ReportVersion:
    shared = _shared_fields(content, marking, details, status)
    version = ReportVersion.objects.create(
        report=report,
        version=version_number,
        summary=content.summary,
        source_reliability=content.source_reliability,
        info_credibility=content.info_credibility,
        details=details,
        change_note=content.change_note,
        author=author,
        **shared,
    )
    _link_entities(version, [*content.entities, *_derived_entities(details)])
    for key, value in shared.items():
        setattr(report, key, value)
    report.current_version = version_number
    report.updated_at = timezone.now()
    report.save()
    return version


def _link_entities(version: ReportVersion, items: list[EntityInput]) -> None:
    """Find or create each entity and link it, in four queries however many there are."""
    _link_entities_many([(version, items)])


def _entity_key(item: EntityInput) -> tuple[str, str, str]:
    return (item.kind, normalise_name(item.name)[:300], item.country)


def _link_entities_many(pairs: Sequence[tuple[ReportVersion, list[EntityInput]]]) -> None:
    """`_link_entities` for several versions at once, in the same four queries.

    An entity new to this node is named as the first version naming it would have named it
    alone (within one version, the last item with that normalised key).
    """
    wanted: dict[tuple[str, str, str], EntityInput] = {}
    keyed: list[tuple[ReportVersion, list[tuple[tuple[str, str, str], str]]]] = []
    for version, items in pairs:
        keys = [(_entity_key(item), item) for item in items]
        for key, item in dict(keys).items():
            wanted.setdefault(key, item)
        keyed.append((version, [(key, item.role) for key, item in keys]))
    if not wanted:
        return
    names = {key[1] for key in wanted}
    existing = {
        (e.kind, e.normalized_name, e.country): e
        for e in Entity.objects.filter(normalized_name__in=names)
    }
    missing = [
        Entity(kind=kind, normalized_name=norm, country=country, name=item.name[:300])
        # In key order: concurrent writers inserting the same new entities never deadlock.
        for (kind, norm, country), item in sorted(wanted.items(), key=lambda pair: pair[0])
        if (kind, norm, country) not in existing
    ]
    if missing:
        Entity.objects.bulk_create(missing, ignore_conflicts=True)
        for e in Entity.objects.filter(normalized_name__in={m.normalized_name for m in missing}):
            existing[(e.kind, e.normalized_name, e.country)] = e
    links = [
        ReportEntity(version=version, entity_id=entity_id, role=role)
        for version, roles in keyed
        for entity_id, role in dict.fromkeys((existing[key].pk, role) for key, role in roles)
    ]
    if links:
        ReportEntity.objects.bulk_create(links, ignore_conflicts=True)


def _check_publish_right(user: User, status: str) -> None:
    if status != Status.DRAFT and not may_publish(user):
        raise PermissionDenied("publishing needs the releaser role")


@refusals_audited("report.create")
@transaction.atomic
def create_report(
    *, author: User, content: ReportContent, status: str = Status.DRAFT
) -> ReportVersion:
    if status not in (Status.DRAFT, Status.PUBLISHED):
        raise ValidationError({"status": ["a new report is a draft or published"]})
    _require_author(author)
    origin = this_node().code
    marking, details = _check_content(content, origin)
    _require_clearance(author, marking)
    _check_publish_right(author, status)
    report = Report(
        id=uuid.uuid4(),
        origin=origin,
        current_version=1,
        author=author,
        updated_at=timezone.now(),
    )
    for key, value in {"title": content.title, "category": content.category}.items():
        setattr(report, key, value)
    version = _write_version(report, 1, content, marking, details, status, author)
    _after_versions([version])
    return version


def _lock_own_report(report_id: uuid.UUID, base_version: int) -> Report:
    report = Report.objects.select_for_update().get(pk=report_id)
    if report.origin != this_node().code:
        raise PermissionDenied("reports received from partners are read-only here")
    if report.status == Status.WITHDRAWN:
        raise ValidationError({"status": ["a withdrawn report cannot change"]})
    if report.current_version != base_version:
        raise VersionConflict(report.current_version)
    return report


@refusals_audited("report.revise")
@transaction.atomic
def revise_report(
    *,
    author: User,
    report_id: uuid.UUID,
    base_version: int,
    content: ReportContent,
    status: str | None = None,
) -> ReportVersion:
    """A new immutable version; `base_version` guards against overwriting someone else's edit."""
    _require_author(author)
    report = _lock_own_report(report_id, base_version)
    new_status = status or report.status
    if new_status == Status.WITHDRAWN:
        raise ValidationError({"status": ["use withdraw to withdraw a report"]})
    if report.status == Status.PUBLISHED and new_status == Status.DRAFT:
        raise ValidationError({"status": ["a published report cannot return to draft"]})
    marking, details = _check_content(content, report.origin)
    _require_clearance(author, marking)
    _require_clearance_for_existing(author, report)
    _check_publish_right(author, new_status)
    version = _write_version(
        report, report.current_version + 1, content, marking, details, new_status, author
    )
    _after_versions([version])
    return version


def _require_clearance_for_existing(user: User, report: Report) -> None:
    clearance = clearance_of(user)
    if clearance is None or clearance < report.classification:
        raise PermissionDenied("you may not change a report above your clearance")


WITHDRAWN_PREFIX = "Withdrawn: "
# The reason becomes the tombstone's change note, which holds 500 characters with its prefix.
WITHDRAW_REASON_MAX = 500 - len(WITHDRAWN_PREFIX)


@refusals_audited("report.withdraw")
@transaction.atomic
def withdraw_report(
    *, user: User, report_id: uuid.UUID, base_version: int, reason: str
) -> ReportVersion:
    """Withdrawal is a version of its own (a tombstone), so partners learn of it like any edit."""
    if not reason.strip():
        raise ValidationError({"reason": ["say why the report is withdrawn"]})
    if len(reason.strip()) > WITHDRAW_REASON_MAX:
        raise ValidationError({"reason": [f"at most {WITHDRAW_REASON_MAX} characters"]})
    _require_author(user)
    report = _lock_own_report(report_id, base_version)
    _require_clearance_for_existing(user, report)
    if report.status == Status.PUBLISHED and not may_publish(user):
        raise PermissionDenied("withdrawing a published report needs the releaser role")
    current = report.versions.get(version=report.current_version)
    content = content_of(current)
    content = ReportContent(
        **{**content.__dict__, "change_note": WITHDRAWN_PREFIX + reason.strip()}
    )
    marking, details = _check_content(content, report.origin)
    version = _write_version(
        report, report.current_version + 1, content, marking, details, Status.WITHDRAWN, user
    )
    _after_versions([version])
    return version


def record_received_version(
    *,
    report_id: uuid.UUID,
    origin: str,
    version_number: int,
    content: ReportContent,
    status: str,
    details_validated: bool = False,
    report: Report | None = None,
) -> ReportVersion:
    """Store a version a partner released to this node. The caller verified its signature and
    this node's entitlement; the content is checked here exactly as a local write is (the
    caller may say it already validated the details, and pass the report it locked)."""
    marking, details = _check_content(content, origin, details_validated=details_validated)
    if report is None:
        report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        report = Report(
            id=report_id,
            origin=origin,
            current_version=version_number,
            updated_at=timezone.now(),
            title=content.title,
            category=content.category,
        )
    elif report.origin != origin:
        raise PermissionDenied(f"report {report_id} belongs to {report.origin}, not {origin}")
    version = _write_version(report, version_number, content, marking, details, status, None)
    _after_versions([version])
    return version


@dataclass(frozen=True)
class ReceivedVersion:
    """A version a partner released to this node, checked as `record_received_version` checks
    it (`check_received_version`) and not yet written (`record_received_versions`)."""

    report_id: uuid.UUID
    origin: str
    version_number: int
    content: ReportContent
    status: str
    marking: Marking
    details: dict[str, Any]


def check_received_version(
    *,
    report_id: uuid.UUID,
    origin: str,
    version_number: int,
    content: ReportContent,
    status: str,
    details_validated: bool = False,
) -> ReceivedVersion:
    """The content checks of `record_received_version`, without writing anything: raises
    MarkingError or ValidationError exactly as it would."""
    marking, details = _check_content(content, origin, details_validated=details_validated)
    return ReceivedVersion(report_id, origin, version_number, content, status, marking, details)


def content_once_stored(received: ReceivedVersion) -> ReportContent:
    """What `content_of` reads back for `received` once it is written (a withdrawal received
    in the same batch starts from it)."""
    marking = received.marking
    return replace(
        received.content,
        classification=marking.classification.name,
        rel_to=list(marking.rel_to),
        orcon=marking.orcon,
        tlp=marking.tlp,
        details=dict(received.details),
        entities=[e for e in received.content.entities if e.role not in _DERIVED_ROLES],
    )


def record_received_versions(
    versions: Sequence[ReceivedVersion], *, locked: Mapping[uuid.UUID, Report]
) -> list[ReportVersion]:
    """`record_received_version` for many versions at once, in bulk, applied in order: the
    same rows, and VERSION_HOOKS run once, with every version in order, after all rows are
    written.

    The caller checked each version (`check_received_version`), locked the reports that exist
    (`locked`, by id) and wraps the call in its transaction. A report not in `locked` is
    created; if it exists after all, the insert raises IntegrityError.
    """
    if not versions:
        return []
    now = timezone.now()
    created: dict[uuid.UUID, Report] = {}
    changed: dict[uuid.UUID, Report] = {}
    rows: list[ReportVersion] = []
    links: list[tuple[ReportVersion, list[EntityInput]]] = []
    fields: list[str] = []
    for received in versions:
        content = received.content
        report = locked.get(received.report_id) or created.get(received.report_id)
        if report is None:
            report = Report(
                id=received.report_id,
                origin=received.origin,
                current_version=received.version_number,
                updated_at=now,
                title=content.title,
                category=content.category,
            )
            created[received.report_id] = report
        elif report.origin != received.origin:
            raise PermissionDenied(
                f"report {received.report_id} belongs to {report.origin}, not {received.origin}"
            )
        elif received.report_id not in created:
            changed[received.report_id] = report
        shared = _shared_fields(content, received.marking, received.details, received.status)
        version = ReportVersion(
            report=report,
            version=received.version_number,
            summary=content.summary,
            source_reliability=content.source_reliability,
            info_credibility=content.info_credibility,
            details=received.details,
            change_note=content.change_note,
            author=None,
            **shared,
        )
        rows.append(version)
        links.append((version, [*content.entities, *_derived_entities(received.details)]))
        for key, value in shared.items():
            setattr(report, key, value)
        report.current_version = received.version_number
        report.updated_at = now
        fields = [*shared, "current_version", "updated_at"]
    with transaction.atomic(savepoint=False):
        if created:  # inserted in id order, as concurrent batches insert them: no deadlock
            copy_create([created[key] for key in sorted(created)])
        copy_create(rows)
        _link_entities_many(links)
        if changed:
            Report.objects.bulk_update(list(changed.values()), fields)
        _after_versions(rows)
    return rows


def content_of(version: ReportVersion) -> ReportContent:
    from core.markings import Classification

    return ReportContent(
        title=version.title,
        summary=version.summary,
        category=version.category,
        classification=Classification(version.classification).name,
        rel_to=list(version.rel_to),
        orcon=version.orcon,
        tlp=version.tlp,
        source_reliability=version.source_reliability,
        info_credibility=version.info_credibility,
        details=dict(version.details),
        event_start=version.event_start,
        event_end=version.event_end,
        entities=[
            EntityInput(link.entity.kind, link.entity.name, link.role, link.entity.country)
            for link in version.links.select_related("entity")
            if link.role not in _DERIVED_ROLES
        ],
        change_note=version.change_note,
    )


_DERIVED_ROLES = {
    EntityRole.CONSIGNEE,
    EntityRole.END_USER,
    EntityRole.DEVELOPER,
    EntityRole.PROVIDER,
    EntityRole.CUSTOMER,
    EntityRole.INTERMEDIARY,
    EntityRole.REGISTERED_ADDRESS,
}


def _after_versions(versions: Sequence[ReportVersion]) -> None:
    """Hooks that must run inside the versions' transaction (federation outbox, audit, scoring)."""
    for hook in VERSION_HOOKS:
        hook(versions)


# Apps register here in AppConfig.ready(). Each hook runs inside the transaction that wrote the
# versions and is given all of them at once, in order (one for an analyst's write, a whole
# received batch for federation), so it can do its work once per batch instead of once per row.
VERSION_HOOKS: list[Callable[[Sequence[ReportVersion]], None]] = []
