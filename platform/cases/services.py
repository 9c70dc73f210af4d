"""Writes for cases: grouping, features, scores, analysts' merges and splits, and the case
workflow (status, assignee, notes, disposition). The numpy work is in `riskscore`; the
incremental regrouping engine is `cases.regroup`.

One door: every mutation here checks the caller's role and clearance and writes its audit entry
in the same transaction; the API, the web views and the commands call these functions. Nothing
here imports a task: work for the scoring worker is enqueued after commit by `enqueue`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.selectors import AUTHOR_ROLES, clearance_of, profile_of
from audit.services import HiddenTarget, record, refusals_audited
from core.enqueue import after_commit
from core.markings import Classification
from reports.models import ReportVersion, Status
from reports.selectors import visible_reports
from riskscore.engine import ScoringConfig, score
from riskscore.explain import group_of, rounded_points
from riskscore.features import DEFAULT_CONFIG

from .models import (
    CLOSED_STATUSES,
    Case,
    CaseMember,
    CaseNote,
    CaseOverride,
    CaseSeen,
    CaseStatus,
    ConfigState,
    ScoringConfigVersion,
    ScreeningList,
)

log = logging.getLogger(__name__)
NOTE_MAX = 5000
REASON_MAX = 2000
Progress = Callable[[int, int], None]
Actor = AbstractBaseUser | AnonymousUser


def queue_scoring(versions: Sequence[ReportVersion]) -> None:
    """VERSION_HOOK, inside the versions' transaction: the reports become pending (durable,
    swept by beat), and one drain message is enqueued after commit, however many versions a
    received batch holds. A report whose new version is at another classification than its
    case leaves that case now, in this transaction: a case never holds two levels, not even
    for the seconds before the worker runs."""
    from . import regroup

    latest = {str(v.report_id): v for v in versions if v.status != Status.DRAFT}
    if not latest:
        return
    moved = regroup.mark_pending(list(latest.values()))
    if moved:
        regroup.regroup_reports(moved)
    after_commit("cases.tasks.drain_scoring")


def active_config() -> ScoringConfig:
    row = ScoringConfigVersion.objects.filter(state=ConfigState.ACTIVE).first()
    return ScoringConfig.from_dict(row.config) if row else DEFAULT_CONFIG


CONFIG_LOCK = 0x7363_6F72  # advisory-lock key: one configuration change at a time


def lock_configs() -> None:
    """Serialise configuration changes (proposals, activations) until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CONFIG_LOCK])


def make_active(row: ScoringConfigVersion, *, decided_by: User | None = None) -> None:
    """The one activation path, inside the caller's transaction: the active configuration is
    retired, `row` becomes active, and every case is rescored by the worker after commit (each
    stored score then names `row.version`)."""
    lock_configs()
    ScoringConfigVersion.objects.filter(state=ConfigState.ACTIVE).exclude(pk=row.pk).update(
        state=ConfigState.RETIRED
    )
    row.state = ConfigState.ACTIVE
    if decided_by is not None:
        row.decided_by, row.decided_at = decided_by, timezone.now()
    row.save()
    after_commit("cases.tasks.rescore_all_task")


@transaction.atomic
def activate_config(data: dict[str, Any], *, note: str = "", user: Any = None) -> ScoringConfig:
    """Validate and activate a new configuration (weights, priors, decay)."""
    config = ScoringConfig.from_dict(data)
    if ScoringConfigVersion.objects.filter(version=config.version).exists():
        raise ValueError(f"configuration version {config.version} exists; give a new version")
    row = ScoringConfigVersion(
        version=config.version, config=config.to_dict(), note=note, created_by=user
    )
    make_active(row)
    return config


@dataclass(frozen=True)
class StoredScores:
    """Scores of a feature matrix's rows as the score table stores them."""

    scores: list[float]  # per row, in shown units (they add up exactly)
    contributions: list[str]  # per row: every contribution as JSON text, largest first
    baseline: float
    version: str


def stored_scores(config: ScoringConfig, features: np.ndarray) -> StoredScores:
    """Score every row and write its explanation as JSON text directly: building a list of
    dicts per case and dumping them cost more than the scoring itself (for 100,000 cases in
    `rescore_all`; for a received batch, 40 % of the scoring worker's time)."""
    result = score(features, None, config, top_k=None, explain="all")
    names = [json.dumps(name) for name in result.feature_names]
    groups = [json.dumps(group_of(name)) for name in result.feature_names]
    units, score_units, base_units = rounded_points(result)
    values = np.round(result.values.astype(np.float64), 4)
    missing = result.missing
    texts = []
    for i in range(units.shape[0]):
        parts = []
        row_units = units[i].tolist()
        for j in np.argsort(-np.abs(units[i]), kind="stable").tolist():
            value = "null" if missing[i, j] else repr(float(values[i, j]))
            flag = "true" if missing[i, j] else "false"
            parts.append(
                f'{{"feature": {names[j]}, "group": {groups[j]}, '
                f'"points": {row_units[j] / 1000!r}, "value": {value}, "missing": {flag}}}'
            )
        texts.append("[" + ", ".join(parts) + "]")
    return StoredScores(
        scores=[int(u) / 1000 for u in score_units.tolist()],
        contributions=texts,
        baseline=base_units / 1000,
        version=config.version,
    )


def features_of(case: Case) -> np.ndarray:
    return np.frombuffer(bytes(case.features), dtype="<f8")


def score_report_case(report_id: str) -> Case | None:
    """Regroup and rescore one report's neighbourhood now; the case that holds it after."""
    from .regroup import regroup_reports

    regroup_reports([str(report_id)])
    return Case.objects.filter(members__report_id=report_id).first()


DRAIN_BATCH = 1_000
"""Pending reports regrouped per transaction. A backlog drains faster in larger batches, as the
reports of one shipment share a neighbourhood read once: 5,000 received reports in process
took 9.3 s in batches of 250, 8.4 s of 500, 6.9 s of 1,000 and 7.0 s of 2,000. A quiet node's
batches are smaller anyway (what is pending)."""


def drain_pending(batch: int = DRAIN_BATCH, budget_s: float = 20.0) -> int:
    """Regroup pending reports, `batch` at a time, until none is left or the time budget is
    spent (then one more drain is enqueued). Returns the reports taken."""
    import time

    from .regroup import drain_batch

    started = time.monotonic()
    taken = 0
    while True:
        outcome = drain_batch(batch)
        if outcome is None:
            return taken
        taken += outcome.reports
        if time.monotonic() - started > budget_s:
            after_commit("cases.tasks.drain_scoring")
            return taken


def regroup_all(progress: Progress | None = None, chunk: int = 20_000) -> int:
    """Full regrouping and scoring of every report, in place, in bounded memory (see
    `cases.full_regroup`). Returns the number of cases."""
    from .full_regroup import regroup_everything

    return regroup_everything(progress=progress, chunk=chunk)


def rescore_all(progress: Progress | None = None, chunk: int = 50_000) -> int:
    """Score every case from its stored features with the active configuration (after a
    weights change): read features, score in numpy, write scores and explanations."""
    config = active_config()
    total = Case.objects.count()
    done = 0
    last_id = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, features FROM cases_case WHERE id > %s ORDER BY id LIMIT %s",
                [last_id, chunk],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        ids = [r[0] for r in rows]
        width = config.n_features
        X = np.full((len(rows), width), np.nan)
        for i, (_, features) in enumerate(rows):
            if features is not None and len(features) == 8 * width:
                X[i] = np.frombuffer(features, dtype="<f8")
        _write_scores(ids, stored_scores(config, X))
        done += len(rows)
        last_id = ids[-1]
        if progress:
            progress(done, total)
    return done


def _write_scores(ids: list[int], result: StoredScores) -> None:
    """One UPDATE ... FROM (COPY into a temporary table) per chunk: scores, baselines and
    every contribution."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS case_scores "
            "(id bigint, score double precision, contributions jsonb) ON COMMIT DROP"
        )
        with cursor.copy("COPY case_scores (id, score, contributions) FROM STDIN") as copy:
            for row in zip(ids, result.scores, result.contributions, strict=True):
                copy.write_row(row)
        cursor.execute(
            "UPDATE cases_casescore c SET score = s.score, contributions = s.contributions, "
            "baseline = %s, config_version = %s, scored_at = %s "
            "FROM case_scores s WHERE c.case_id = s.id",
            [result.baseline, result.version, now],
        )


def score_is_number(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def import_active_list(list_row: ScreeningList) -> None:
    """Make `list_row` the active screening list (the previous one stays until this commits)."""
    with transaction.atomic():
        ScreeningList.objects.filter(active=True).exclude(pk=list_row.pk).update(active=False)
        ScreeningList.objects.filter(pk=list_row.pk).update(active=True)


# --------------------------------------------------------------------------------------------
# Analysts' changes: one service function each, role and clearance checked, audited
# --------------------------------------------------------------------------------------------


def _author(user: Actor) -> User:
    """Analysts and releasers change cases; auditors and trust administrators read them."""
    profile = profile_of(user)
    if not isinstance(user, User) or profile is None:
        raise PermissionDenied("sign in first")
    if profile.role not in AUTHOR_ROLES:
        raise PermissionDenied("changing cases needs the analyst or releaser role")
    return user


class CaseHidden(HiddenTarget, Case.DoesNotExist):
    """A case above the caller's clearance: "not found" to them, a refusal in the audit log."""

    def __init__(self, case: Case) -> None:
        super().__init__(f"no case {case.pk} that you may see")
        self.classification = case.classification


def _locked_case(user: User, case_id: int) -> Case:
    """The case, row-locked; refused (as not found) above the user's clearance."""
    clearance = clearance_of(user)
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise Case.DoesNotExist(f"no case {case_id} that you may see")
    if clearance is None or case.classification > int(clearance):
        raise CaseHidden(case)
    return case


def _members(case_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {pk: [] for pk in case_ids}
    for case_id, report_id in CaseMember.objects.filter(case_id__in=list(case_ids)).values_list(
        "case_id", "report_id"
    ):
        found[case_id].append(str(report_id))
    return {pk: sorted(ids) for pk, ids in found.items()}


def _require_sees_all(user: User, report_ids: Sequence[str], field: str) -> None:
    """A merge or split moves every report of the cases: the caller must see them all."""
    seen = visible_reports(user).filter(pk__in=list(report_ids)).count()
    if seen != len(set(report_ids)):
        raise PermissionDenied(
            f"{field}: these cases hold reports you may not see; ask a colleague cleared for them"
        )


def _case_ids(case_ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(int(pk) for pk in case_ids))


@refusals_audited("case.merge")
@transaction.atomic
def merge_cases(user: Actor, case_ids: Sequence[int]) -> Case:
    """Analyst merge: the cases' reports are kept together from now on (a must-link that every
    regrouping honours). Same classification only; the caller must see every member. Returns
    the case that holds them (the others' ids redirect to it)."""
    from .regroup import absorb, lock_levels, lock_reports, regroup_reports

    author = _author(user)
    ids = _case_ids(case_ids)
    if len(ids) < 2:
        raise ValidationError({"cases": ["give at least two cases to merge"]})
    members = _members(ids)
    lock_reports(sorted({r for rs in members.values() for r in rs}))
    cases = [_locked_case(author, pk) for pk in sorted(ids)]
    if len({c.classification for c in cases}) != 1:
        raise ValidationError(
            {
                "cases": [
                    "cases at different classifications are not merged: the merged case "
                    "would show reports to users who may not see them"
                ]
            }
        )
    lock_levels([cases[0].classification])
    members = _members(ids)  # again, under the level lock: what the merge really moves
    reports = sorted({r for rs in members.values() for r in rs})
    _require_sees_all(author, reports, "cases")
    CaseOverride.objects.filter(
        kind=CaseOverride.KEEP_APART, report_a_id__in=reports, report_b_id__in=reports
    ).delete()
    anchor = members[ids[0]][0] if members[ids[0]] else reports[0]
    CaseOverride.objects.bulk_create(
        [
            CaseOverride(
                report_a_id=anchor, report_b_id=rid, kind=CaseOverride.KEEP_TOGETHER,
                created_by=author,
            )
            for rid in reports
            if rid != anchor
        ]
    )  # fmt: skip
    into = next(c for c in cases if c.pk == ids[0])
    absorb(into, [c for c in cases if c.pk != into.pk])  # the case merged into keeps its id
    regroup_reports(reports)
    kept = Case.objects.filter(members__report_id=anchor).get()
    Case.objects.filter(pk=kept.pk).update(changed_at=timezone.now())
    record(
        author,
        "case.merge",
        str(kept.pk),
        {
            "merged": [pk for pk in ids if pk != kept.pk],
            "classification": Classification(kept.classification).name,
            "reports": len(reports),
        },
    )
    return kept


@refusals_audited("case.split")
@transaction.atomic
def split_case(user: Actor, case_id: int, report_ids: Sequence[str]) -> tuple[Case, Case]:
    """Analyst split: the given reports leave the case and are kept apart from the rest (a
    cannot-link every regrouping honours). Returns (the case the rest stay in, the case the
    named reports went to)."""
    from .regroup import lock_levels, lock_reports, regroup_reports

    author = _author(user)
    members = _members([case_id])[case_id]
    lock_reports(members)
    case = _locked_case(author, case_id)
    lock_levels([case.classification])
    current = set(_members([case_id])[case_id])
    leaving = {str(r) for r in report_ids}
    if not leaving or not leaving < current:
        raise ValidationError(
            {"reports": ["Leave at least one report in this case and name at least one to move"]}
        )
    _require_sees_all(author, sorted(current), "reports")
    staying = current - leaving
    CaseOverride.objects.filter(
        kind=CaseOverride.KEEP_TOGETHER,
        report_a_id__in=sorted(current),
        report_b_id__in=sorted(current),
    ).delete()
    CaseOverride.objects.bulk_create(
        [
            CaseOverride(
                report_a_id=a, report_b_id=b, kind=CaseOverride.KEEP_APART, created_by=author
            )
            for a in sorted(leaving)
            for b in sorted(staying)
        ]
    )
    together = [pair for group in (leaving, staying) for pair in pairwise(sorted(group))]
    CaseOverride.objects.bulk_create(
        [
            CaseOverride(
                report_a_id=a, report_b_id=b, kind=CaseOverride.KEEP_TOGETHER, created_by=author
            )
            for a, b in together
        ]
    )
    # The named reports move out to a new case first, so the regrouping continues both
    # (the case keeps its id for the reports that stay, however many move).
    new_case = Case.objects.create(title="", classification=case.classification)
    CaseMember.objects.filter(report_id__in=sorted(leaving)).update(case=new_case)
    regroup_reports(sorted(current))
    stayed = Case.objects.get(members__report_id=min(staying))
    moved = Case.objects.get(members__report_id=min(leaving))
    record(
        author,
        "case.split",
        str(case_id),
        {
            "moved": sorted(leaving),
            "new_case": moved.pk,
            "classification": Classification(case.classification).name,
        },
    )
    return stayed, moved


def _touched(case: Case, fields: list[str]) -> None:
    case.changed_at = timezone.now()
    case.save(update_fields=[*fields, "changed_at", "updated_at"])


@refusals_audited("case.status")
@transaction.atomic
def set_case_status(user: Actor, case_id: int, status: str) -> Case:
    """Move a case through the open states (new, in review, escalated), or reopen a closed
    one. Closing is `dispose_case`, which needs a reason."""
    author = _author(user)
    if status not in CaseStatus.values:
        raise ValidationError({"status": [f"unknown status {status!r}"]})
    if status in CLOSED_STATUSES:
        raise ValidationError({"status": ["closing a case needs a disposition and a reason"]})
    case = _locked_case(author, case_id)
    before = case.status
    case.status = status
    if before in CLOSED_STATUSES:
        case.disposition_reason = ""
    _touched(case, ["status", "disposition_reason"])
    record(author, "case.status", str(case.pk), {"from": before, "to": status})
    return case


@refusals_audited("case.dispose")
@transaction.atomic
def dispose_case(user: Actor, case_id: int, outcome: str, reason: str) -> Case:
    """Close a case as confirmed or dismissed, with the analyst's reason: the label the
    scoring model learns from (confirmed = 1, dismissed = 0)."""
    author = _author(user)
    if outcome not in CLOSED_STATUSES:
        raise ValidationError({"status": ["a disposition is closed_confirmed or closed_dismissed"]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["say why the case is closed"]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"at most {REASON_MAX} characters"]})
    case = _locked_case(author, case_id)
    before = case.status
    case.status, case.disposition_reason = outcome, reason
    _touched(case, ["status", "disposition_reason"])
    record(author, "case.dispose", str(case.pk), {"from": before, "to": outcome, "reason": reason})
    return case


@refusals_audited("case.assign")
@transaction.atomic
def assign_case(user: Actor, case_id: int, assignee_id: int | None) -> Case:
    """Give the case to an analyst or releaser cleared for it (None: nobody)."""
    author = _author(user)
    case = _locked_case(author, case_id)
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
        profile = profile_of(assignee) if assignee else None
        if (
            assignee is None
            or profile is None
            or profile.role not in AUTHOR_ROLES
            or profile.clearance < case.classification
        ):
            raise ValidationError(
                {"assignee": ["assign the case to an analyst or releaser cleared for it"]}
            )
    before = case.assignee_id
    case.assignee = assignee
    _touched(case, ["assignee"])
    record(
        author,
        "case.assign",
        str(case.pk),
        {"from": before, "to": assignee.get_username() if assignee else None},
    )
    return case


@refusals_audited("case.note")
@transaction.atomic
def add_case_note(user: Actor, case_id: int, text: str) -> CaseNote:
    author = _author(user)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": ["write the note first"]})
    if len(text) > NOTE_MAX:
        raise ValidationError({"text": [f"at most {NOTE_MAX} characters"]})
    case = _locked_case(author, case_id)
    note = CaseNote.objects.create(case=case, author=author, text=text)
    _touched(case, [])
    record(author, "case.note", str(case.pk), {"note": note.pk, "characters": len(text)})
    return note


def mark_case_seen(user: Actor, case: Case) -> None:
    """Remember that the user looked at the case now (a reader's own state, not audited)."""
    if not isinstance(user, User):
        return
    CaseSeen.objects.update_or_create(
        user=user, case_id=case.pk, defaults={"seen_at": timezone.now()}
    )
