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
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.bulk import copy_create
from reports.models import Status
from riskscore.linkage import NameStats

from .bulk import copy_update
from .describe import describe_case
from .documents import report_documents
from .linking import Group, group_neighbourhood, level_of, lookup_keys, report_keys
from .models import (
    Case,
    CaseMember,
    CaseNote,
    CaseOverride,
    CaseRedirect,
    CaseScore,
    PendingScoring,
)
from .namestats import name_stats
from .screening import active_index

if TYPE_CHECKING:
    from .services import StoredScores

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


def _neighbour_case_ids(
    docs: Sequence[Mapping[str, Any]], report_ids: Collection[str], stats: NameStats
) -> set[int]:
    """Cases at the same level whose members share a (rare enough) blocking key with a doc,
    and the docs' own cases: one GIN-index probe per level, one lookup by report.

    The planner costs `keys && <a thousand keys>` like one comparison and scans the table
    instead, comparing every row's keys with every key of the batch (0.55 s for 500 reports
    over 5,000 members; 30 ms through the index), so the scan is switched off for this one
    statement."""
    keys_by_level: dict[int, set[str]] = {}
    for doc in docs:
        if _groupable(doc):
            keys_by_level.setdefault(level_of(doc), set()).update(
                lookup_keys(report_keys(doc), stats)
            )
    parts = ["SELECT case_id FROM cases_casemember WHERE report_id = ANY(%s::uuid[])"]
    params: list[Any] = [[str(r) for r in report_ids]]
    for level, keys in sorted(keys_by_level.items()):
        if keys:
            parts.append(
                "SELECT case_id FROM cases_casemember "
                "WHERE classification = %s AND keys && %s::varchar(300)[]"
            )
            params += [level, sorted(keys)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)"
        )
        (before, _) = cursor.fetchone() or ("on", None)
        cursor.execute(" UNION ".join(parts), params)
        found = {int(row[0]) for row in cursor.fetchall()}
        cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [before])
    return found


def _neighbourhood(report_ids: Collection[str], stats: NameStats) -> Neighbourhood:
    docs = report_documents(report_ids)
    case_ids = _neighbour_case_ids(docs, report_ids, stats)
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


def _levels_of(report_ids: Sequence[str]) -> set[int]:
    """The levels of the reports' current versions and of the cases holding them: the level
    locks to take first (one query; the documents are read once the locks are held)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classification FROM cases_casemember WHERE report_id = ANY(%s::uuid[]) "
            "UNION SELECT v.classification FROM reports_report r JOIN reports_reportversion v "
            "ON v.report_id = r.id AND v.version = r.current_version "
            "WHERE r.id = ANY(%s::uuid[])",
            [list(report_ids), list(report_ids)],
        )
        return {int(row[0]) for row in cursor.fetchall()}


def regroup_reports(report_ids: Collection[str]) -> Outcome:
    """Regroup and rescore the neighbourhood of `report_ids` in the caller's transaction."""
    ids = sorted({str(r) for r in report_ids})
    if not ids:
        return Outcome((), (), 0)
    with transaction.atomic():
        lock_reports(ids)  # reports first, then levels
        levels = _levels_of(ids)
        stats = name_stats()
        while True:
            lock_levels(levels)
            hood = _neighbourhood(ids, stats)
            found = {level_of(d) for d in hood.docs} | {
                c.classification for c in hood.cases.values()
            }
            if found <= levels:
                break
            levels |= found  # a level not locked yet (a report reclassified meanwhile)
        return _rewrite(hood, stats, set(ids))


def _rewrite(hood: Neighbourhood, stats: NameStats, changed: Collection[str]) -> Outcome:
    """Cluster the neighbourhood; write the clusters that differ from their case (new or
    changed reports, other members), leave the others untouched."""
    docs = [d for d in hood.docs if _groupable(d)]
    by_id = {str(d["id"]): d for d in docs}
    previous = {
        rid: m.case_id
        for rid, m in hood.members.items()
        if rid in by_id and m.classification == level_of(by_id[rid])
    }
    together, apart = _constraints(by_id)
    groups = group_neighbourhood(
        docs, previous=previous, must_link=together, cannot_link=apart, stats=stats
    )
    old_members: dict[int, set[str]] = {}
    for rid, m in hood.members.items():
        old_members.setdefault(m.case_id, set()).add(rid)
    touched = set(changed)

    def unchanged(g: Group) -> bool:
        return (
            g.previous_case is not None
            and not g.absorbed
            and old_members.get(g.previous_case) == set(g.report_ids)
            and not touched.intersection(g.report_ids)
            and g.flagged == hood.cases[g.previous_case].flagged
        )

    skipped = [g for g in groups if unchanged(g)]
    groups = [g for g in groups if not unchanged(g)]
    still = {rid for g in skipped for rid in g.report_ids}
    written = _write_groups(groups, by_id, hood, still)
    kept = {case.pk for case in written} | {g.previous_case for g in skipped if g.previous_case}
    gone = [pk for pk in hood.cases if pk not in kept]
    _retire(gone, groups, written, hood)
    return Outcome(tuple(sorted(kept)), tuple(sorted(gone)), len(hood.docs))


def _score_rows(cases: Sequence[Sequence[dict[str, Any]]]) -> tuple[np.ndarray, StoredScores]:
    from riskscore.features import build_features

    from .services import active_config, stored_scores

    config = active_config()
    matrix = build_features(cases, screening=active_index(), config=config)
    return matrix.X, stored_scores(config, matrix.X)


def _store_scores(cases: Sequence[Case], scored: StoredScores, now: datetime) -> None:
    """The cases' score rows replaced: one DELETE and one COPY, the explanations written as
    the JSON text `stored_scores` made (no model instances, no second encoding)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM cases_casescore WHERE case_id = ANY(%s)", [[c.pk for c in cases]]
        )
        with (
            connection.wrap_database_errors,
            cursor.copy(
                "COPY cases_casescore (case_id, classification, score, baseline, contributions, "
                "config_version, scored_at) FROM STDIN"
            ) as copy,
        ):
            rows = zip(cases, scored.scores, scored.contributions, strict=True)
            for case, value, text in rows:
                level, base, version = case.classification, scored.baseline, scored.version
                copy.write_row((case.pk, level, value, base, text, version, now))


def _write_groups(
    groups: Sequence[Group],
    by_id: Mapping[str, dict[str, Any]],
    hood: Neighbourhood,
    still: Collection[str],
) -> list[Case]:
    """Write `groups`; `still` are reports of the untouched clusters (their rows stay)."""
    if not groups:
        _write_members(groups, [], by_id, hood, still)
        return []
    now = timezone.now()
    group_docs = [[by_id[rid] for rid in g.report_ids] for g in groups]
    features, scored = _score_rows(group_docs)
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
                or abs(old_scores.get(case.pk, -1.0) - scored.scores[n]) >= CHANGED_SCORE
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
    _store_scores(cases, scored, now)
    _write_members(groups, cases, by_id, hood, still)
    return cases


def _write_members(
    groups: Sequence[Group],
    cases: Sequence[Case],
    by_id: Mapping[str, dict[str, Any]],
    hood: Neighbourhood,
    still: Collection[str],
) -> None:
    """Rows whose report stays grouped are updated (no new foreign-key lock on the report),
    reports new to the case layer get rows, reports no longer grouped lose theirs."""
    changed: list[CaseMember] = []
    new: list[tuple[int, str, int, int, list[str]]] = []
    placed: set[str] = set(still)
    for group, case in zip(groups, cases, strict=True):
        for rid in group.report_ids:
            doc = by_id[rid]
            placed.add(rid)
            keys, level, version = report_keys(doc), level_of(doc), int(doc["version"])
            member = hood.members.get(rid)
            if member is None:
                new.append((case.pk, rid, level, version, keys))
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
    if new:  # plain rows through COPY: nothing reads these members' ids back
        columns = "case_id, report_id, classification, version, keys"
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.copy(f"COPY cases_casemember ({columns}) FROM STDIN") as copy,
        ):
            for row in new:
                copy.write_row(row)


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


def mark_pending(versions: Sequence[Any]) -> list[str]:
    """Record that these versions' reports need regrouping (in the caller's transaction), and
    return the reports whose new version is at another level than the case holding them: one
    statement for a whole received batch."""
    level = {str(v.report_id): int(v.classification) for v in versions}
    if not level:
        return []
    ids = list(level)
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH queued AS (INSERT INTO cases_pendingscoring (report_id, queued_at) "
            "SELECT unnest(%s::uuid[]), %s ON CONFLICT (report_id) DO NOTHING) "
            "SELECT m.report_id FROM cases_casemember m "
            "JOIN unnest(%s::uuid[], %s::smallint[]) AS v (id, level) ON m.report_id = v.id "
            "WHERE m.classification <> v.level",
            [ids, timezone.now(), ids, [level[r] for r in ids]],
        )
        return [str(row[0]) for row in cursor.fetchall()]


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
