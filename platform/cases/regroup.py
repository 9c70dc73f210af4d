"""Incremental regrouping and scoring: a batch of new or changed reports, their neighbourhood
(the cases whose members share a blocking key with them, and their own cases), re-clustered
and written back in place in a few set-based statements.

Identity: a cluster that continues a case keeps that case's row (id, status, assignee, notes);
a case merged into another leaves a redirect; a case that lost every report is deleted (with a
redirect to where most of its reports went, when they went somewhere).

Concurrency: every writer of the cases at a classification level (scoring tasks, analysts'
merges and splits, reclassification) holds that level's transaction-scoped advisory lock,
taken in level order, so two writers never rewrite the same case at once (no duplicate member
rows, no deadlock, no update of a case another writer deleted). Reports that gain a member row
are locked `FOR KEY SHARE` *before* the level locks: that is the lock their member row's
foreign key takes anyway, and taking it first means a writer holding a level lock never waits
for the federation inbox (which holds report rows while it runs its version hooks).
A task rewrites every case of the neighbourhood in one go and never requeues anything, so the
queue goes quiet after one task per change.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.bulk import copy_create
from reports.models import Status

from .bulk import copy_update
from .describe import describe_case
from .documents import report_documents
from .linking import Group, group_neighbourhood, level_of, report_keys
from .models import (
    Case,
    CaseMember,
    CaseNote,
    CaseOverride,
    CaseRedirect,
    CaseScore,
    PendingScoring,
)
from .screening import active_index

log = logging.getLogger(__name__)

SCORING_LOCK = 0x6361_7365  # advisory-lock class: (SCORING_LOCK, level) per classification level
CHANGED_SCORE = 0.05  # a score moving less than this is not "changed" for the analyst
CASE_FIELDS = (
    "title",
    "category",
    "keys",
    "countries",
    "origins",
    "report_count",
    "features",
    "links",
    "latest_event",
    "flagged",
    "changed_at",
    "updated_at",
)


def lock_levels(levels: Iterable[int]) -> None:
    """Take the writers' locks of these levels, lowest first (one order: no deadlock)."""
    with connection.cursor() as cursor:
        for level in sorted(set(levels)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SCORING_LOCK, level])


@dataclass
class Neighbourhood:
    docs: list[dict[str, Any]]
    members: dict[str, CaseMember]  # report id -> its current member row
    cases: dict[int, Case]


@dataclass(frozen=True)
class Outcome:
    cases: tuple[int, ...]  # the cases written (kept or new)
    removed: tuple[int, ...]  # cases that no longer exist (merged away or emptied)
    reports: int  # reports in the neighbourhood


def _groupable(doc: Mapping[str, Any]) -> bool:
    return doc["status"] not in (Status.DRAFT, Status.WITHDRAWN)


def _neighbour_case_ids(docs: Sequence[Mapping[str, Any]], report_ids: Collection[str]) -> set[int]:
    """Cases at the same level whose members share a blocking key with a doc, and the docs'
    own cases (one GIN-index probe per level, one lookup by report)."""
    keys_by_level: dict[int, set[str]] = {}
    for doc in docs:
        if _groupable(doc):
            keys_by_level.setdefault(level_of(doc), set()).update(report_keys(doc))
    query = Q(report_id__in=list(report_ids))
    for level, keys in keys_by_level.items():
        if keys:
            query |= Q(classification=level, keys__overlap=sorted(keys))
    return set(CaseMember.objects.filter(query).values_list("case_id", flat=True).distinct())


def _neighbourhood(report_ids: Collection[str]) -> Neighbourhood:
    docs = report_documents(report_ids)
    case_ids = _neighbour_case_ids(docs, report_ids)
    cases = {c.pk: c for c in Case.objects.filter(pk__in=case_ids).defer("features")}
    members = {
        str(m.report_id): m
        for m in CaseMember.objects.filter(Q(case_id__in=case_ids) | Q(report_id__in=report_ids))
    }
    others = set(members) - {str(r) for r in report_ids}
    if others:
        docs.extend(report_documents(others))
    return Neighbourhood(docs=docs, members=members, cases=cases)


def _constraints(
    report_ids: Collection[str],
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    ids = list(report_ids)
    together: list[tuple[str, str]] = []
    apart: list[tuple[str, str]] = []
    for a, b, kind in CaseOverride.objects.filter(
        report_a_id__in=ids, report_b_id__in=ids
    ).values_list("report_a_id", "report_b_id", "kind"):
        (together if kind == CaseOverride.KEEP_TOGETHER else apart).append((str(a), str(b)))
    return together, apart


def lock_reports(report_ids: Sequence[str]) -> None:
    """`FOR KEY SHARE` on the report rows, in id order (see the module docstring)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM reports_report WHERE id = ANY(%s::uuid[]) ORDER BY id FOR KEY SHARE",
            [list(report_ids)],
        )


def regroup_reports(report_ids: Collection[str]) -> Outcome:
    """Regroup and rescore the neighbourhood of `report_ids` in the caller's transaction."""
    ids = sorted({str(r) for r in report_ids})
    if not ids:
        return Outcome((), (), 0)
    with transaction.atomic():
        lock_reports(ids)  # reports first, then levels
        levels = set(
            CaseMember.objects.filter(report_id__in=ids).values_list("classification", flat=True)
        )
        levels |= {level_of(d) for d in report_documents(ids)}
        while True:
            lock_levels(levels)
            hood = _neighbourhood(ids)
            found = {level_of(d) for d in hood.docs} | {
                c.classification for c in hood.cases.values()
            }
            if found <= levels:
                break
            levels |= found  # a level not locked yet (a report reclassified meanwhile)
        return _rewrite(hood)


def _rewrite(hood: Neighbourhood) -> Outcome:
    docs = [d for d in hood.docs if _groupable(d)]
    by_id = {str(d["id"]): d for d in docs}
    previous = {
        rid: m.case_id
        for rid, m in hood.members.items()
        if rid in by_id and m.classification == level_of(by_id[rid])
    }
    together, apart = _constraints(by_id)
    groups = group_neighbourhood(docs, previous=previous, must_link=together, cannot_link=apart)
    written = _write_groups(groups, by_id, hood)
    kept = {case.pk for case in written}
    gone = [pk for pk in hood.cases if pk not in kept]
    _retire(gone, groups, written, hood)
    return Outcome(tuple(sorted(kept)), tuple(sorted(gone)), len(hood.docs))


def _score_rows(
    cases: Sequence[Sequence[dict[str, Any]]],
) -> tuple[np.ndarray, list[dict[str, Any]], str]:
    from riskscore.features import build_features

    from .services import _explained, active_config

    config = active_config()
    matrix = build_features(cases, screening=active_index(), config=config)
    explained = _explained(config, matrix.X)
    return matrix.X, explained["rows"], explained["version"]


def _write_groups(
    groups: Sequence[Group], by_id: Mapping[str, dict[str, Any]], hood: Neighbourhood
) -> list[Case]:
    if not groups:
        return []
    now = timezone.now()
    group_docs = [[by_id[rid] for rid in g.report_ids] for g in groups]
    features, rows, version = _score_rows(group_docs)
    old_scores = dict(
        CaseScore.objects.filter(case_id__in=list(hood.cases)).values_list("case_id", "score")
    )
    old_members: dict[int, set[str]] = {}
    for rid, m in hood.members.items():
        old_members.setdefault(m.case_id, set()).add(rid)
    existing: list[Case] = []
    created: list[Case] = []
    cases: list[Case] = []
    for n, (group, docs) in enumerate(zip(groups, group_docs, strict=True)):
        case = hood.cases.get(group.previous_case) if group.previous_case is not None else None
        fields = describe_case(docs, group.links)
        if case is None:
            case = Case(classification=level_of(docs[0]), created_at=now, changed_at=now)
            created.append(case)
        else:
            changed = (
                old_members.get(case.pk, set()) != set(group.report_ids)
                or abs(old_scores.get(case.pk, -1.0) - rows[n]["score"]) >= CHANGED_SCORE
            )
            if changed:
                case.changed_at = now
            existing.append(case)
        for key, value in fields.items():
            setattr(case, key, value)
        case.flagged = group.flagged
        case.features = np.ascontiguousarray(features[n], dtype="<f8").tobytes()
        case.updated_at = now
        cases.append(case)
    copy_create(created)
    copy_update(existing, CASE_FIELDS)
    CaseScore.objects.filter(case_id__in=[c.pk for c in cases]).delete()
    copy_create(
        [
            CaseScore(
                case=case,
                classification=case.classification,
                score=row["score"],
                baseline=row["baseline"],
                contributions=row["contributions"],
                config_version=version,
                scored_at=now,
            )
            for case, row in zip(cases, rows, strict=True)
        ]
    )
    _write_members(groups, cases, by_id, hood)
    return cases


def _write_members(
    groups: Sequence[Group],
    cases: Sequence[Case],
    by_id: Mapping[str, dict[str, Any]],
    hood: Neighbourhood,
) -> None:
    """Rows whose report stays grouped are updated (no new foreign-key lock on the report),
    reports new to the case layer get rows, reports no longer grouped lose theirs."""
    changed: list[CaseMember] = []
    new: list[CaseMember] = []
    placed: set[str] = set()
    for group, case in zip(groups, cases, strict=True):
        for rid in group.report_ids:
            doc = by_id[rid]
            placed.add(rid)
            keys, level, version = report_keys(doc), level_of(doc), int(doc["version"])
            member = hood.members.get(rid)
            if member is None:
                new.append(
                    CaseMember(
                        case=case, report_id=rid, classification=level, version=version, keys=keys
                    )
                )
            elif (member.case_id, member.classification, member.version, member.keys) != (
                case.pk,
                level,
                version,
                keys,
            ):
                member.case_id, member.classification = case.pk, level
                member.version, member.keys = version, keys
                changed.append(member)
    dropped = [m.pk for rid, m in hood.members.items() if rid not in placed]
    if dropped:
        CaseMember.objects.filter(pk__in=dropped).delete()
    copy_update(changed, ["case", "classification", "version", "keys"])
    copy_create(new)


def absorb(target: Case, others: Sequence[Case]) -> None:
    """`others` are merged into `target`: their ids (and ids that redirected to them) redirect
    there, their notes move there, an assignee is kept if `target` has none; then they go."""
    ids = [c.pk for c in others if c.pk != target.pk]
    if not ids:
        return
    CaseMember.objects.filter(case_id__in=ids).update(case_id=target.pk)
    CaseRedirect.objects.filter(case_id__in=ids).update(case_id=target.pk)
    CaseRedirect.objects.bulk_create(
        [CaseRedirect(old_id=pk, case_id=target.pk) for pk in ids],
        update_conflicts=True,
        unique_fields=["old_id"],
        update_fields=["case"],
    )
    CaseNote.objects.filter(case_id__in=ids).update(case_id=target.pk)
    if target.assignee_id is None:
        assignee = next((c.assignee_id for c in others if c.assignee_id is not None), None)
        if assignee is not None:
            Case.objects.filter(pk=target.pk).update(assignee_id=assignee)
            target.assignee_id = assignee
    Case.objects.filter(pk__in=ids).delete()


def _retire(
    gone: Sequence[int], groups: Sequence[Group], written: Sequence[Case], hood: Neighbourhood
) -> None:
    """Cases no cluster continues are absorbed by the case that took most of their reports
    (deleted outright when none did: every report withdrawn)."""
    if not gone:
        return
    by_pk = {case.pk: case for case in written}
    case_of_report = {
        rid: case.pk for g, case in zip(groups, written, strict=True) for rid in g.report_ids
    }
    absorbed_by = {
        old: case.pk for g, case in zip(groups, written, strict=True) for old in g.absorbed
    }
    for old in gone:
        target = absorbed_by.get(old)
        if target is None:
            went = Counter(
                case_of_report[rid]
                for rid, m in hood.members.items()
                if m.case_id == old and rid in case_of_report
            )
            target = min(went, key=lambda pk: (-went[pk], pk)) if went else None
        if target is None:
            CaseRedirect.objects.filter(case_id=old).delete()
            Case.objects.filter(pk=old).delete()
        else:
            absorb(by_pk[target], [hood.cases[old]])


# --------------------------------------------------------------------------------------------
# The durable queue
# --------------------------------------------------------------------------------------------


def mark_pending(report_ids: Sequence[str]) -> None:
    """Record that these reports' cases need regrouping (in the caller's transaction)."""
    if not report_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cases_pendingscoring (report_id, queued_at) "
            "SELECT unnest(%s::uuid[]), %s ON CONFLICT (report_id) DO NOTHING",
            [list(report_ids), timezone.now()],
        )


def reclassified(versions: Iterable[Any]) -> list[str]:
    """Reports whose new version is at another level than the case that holds them."""
    level = {str(v.report_id): int(v.classification) for v in versions}
    if not level:
        return []
    return [
        str(rid)
        for rid, held in CaseMember.objects.filter(report_id__in=list(level)).values_list(
            "report_id", "classification"
        )
        if held != level[str(rid)]
    ]


def drain_batch(limit: int) -> Outcome | None:
    """Take up to `limit` pending reports (oldest first; rows another worker holds are
    skipped) and regroup their neighbourhoods, in one transaction: if it fails, they stay
    pending. None when nothing was pending."""
    candidates = [
        str(r)
        for r in PendingScoring.objects.order_by("queued_at", "report_id").values_list(
            "report_id", flat=True
        )[:limit]
    ]
    if not candidates:
        return None
    with transaction.atomic():
        # The reports first: the inbox holds a report row while it queues it again, so a
        # worker holding the pending row and waiting for the report would deadlock with it.
        lock_reports(candidates)
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM cases_pendingscoring WHERE report_id IN (SELECT report_id FROM "
                "cases_pendingscoring WHERE report_id = ANY(%s::uuid[]) FOR UPDATE SKIP LOCKED) "
                "RETURNING report_id",
                [candidates],
            )
            ids = [str(row[0]) for row in cursor.fetchall()]
        if not ids:
            return Outcome((), (), 0)
        return regroup_reports(ids)


def pending_count() -> int:
    return PendingScoring.objects.count()


def latest_event(values: Iterable[str | None]) -> date | None:
    found = max((v for v in values if v), default=None)
    return date.fromisoformat(found) if found else None
