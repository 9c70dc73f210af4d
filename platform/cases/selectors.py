"""Reads for cases, scoped like reports: a user sees a case only if cleared for it, and inside
it only the reports they may see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Count, F, FloatField, Max, Q, QuerySet, Value
from django.db.models.functions import Floor, Least

from accounts.selectors import AUTHOR_ROLES, clearance_of
from core.markings import Classification
from reports.models import Report
from reports.selectors import visible_reports
from riskscore.features import DEFAULT_CONFIG

from .models import (
    Case,
    CaseNote,
    CaseOverride,
    CaseRedirect,
    CaseScore,
    CaseSeen,
    ConfigState,
    ScoringConfigVersion,
)

UNASSIGNED = 0  # CaseFilters.assignee: cases nobody has


@dataclass(frozen=True)
class CaseFilters:
    category: str | None = None
    country: str | None = None
    origin: str | None = None
    min_score: float | None = None
    max_score: float | None = None  # exclusive: a chart's score band is [min, max)
    status: str | None = None
    assignee: int | None = None  # a user id, or UNASSIGNED


def filters_for(
    user: AbstractBaseUser | AnonymousUser, *, assignee: str | None = None, **chosen: Any
) -> CaseFilters:
    """Filters from a form or query string: the assignee as 'me', 'none' or a username."""
    assignee_id: int | None = None
    if assignee == "me":
        assignee_id = int(user.pk) if user.pk is not None else -1
    elif assignee == "none":
        assignee_id = UNASSIGNED
    elif assignee:
        found = User.objects.filter(username=assignee).values_list("pk", flat=True).first()
        assignee_id = found if found is not None else -1
    return CaseFilters(**chosen, assignee=assignee_id)


def visible_cases(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Case]:
    clearance = clearance_of(user)
    if clearance is None:
        return Case.objects.none()
    return Case.objects.filter(classification__lte=int(clearance))


def ranked_cases(
    user: AbstractBaseUser | AnonymousUser, filters: CaseFilters
) -> QuerySet[CaseScore]:
    """Scored cases the user may see, highest risk first (each row carries its case)."""
    clearance = clearance_of(user)
    if clearance is None:
        return CaseScore.objects.none()
    rows = CaseScore.objects.filter(classification__lte=int(clearance)).select_related("case")
    if filters.category:
        rows = rows.filter(case__category=filters.category)
    if filters.country:
        rows = rows.filter(case__countries__contains=[filters.country])
    if filters.origin:
        rows = rows.filter(case__origins__contains=[filters.origin])
    if filters.min_score is not None:
        rows = rows.filter(score__gte=filters.min_score)
    if filters.max_score is not None:
        rows = rows.filter(score__lt=filters.max_score)
    if filters.status:
        rows = rows.filter(case__status=filters.status)
    if filters.assignee == UNASSIGNED:
        rows = rows.filter(case__assignee__isnull=True)
    elif filters.assignee is not None:
        rows = rows.filter(case__assignee_id=filters.assignee)
    return rows.order_by("-score", "case_id")


def case_reports(user: AbstractBaseUser | AnonymousUser, case: Case) -> QuerySet[Report]:
    return visible_reports(user).filter(case_member__case=case).order_by("-updated_at")


def _queue_rows(
    user: AbstractBaseUser | AnonymousUser,
    filters: CaseFilters,
    search: str | None,
    event_from: date | None,
    event_to: date | None,
    among: Sequence[int] | None,
) -> QuerySet[CaseScore]:
    rows = ranked_cases(user, filters)
    if among is not None:
        rows = rows.filter(case_id__in=list(among))
    elif search:
        rows = rows.filter(case__title__icontains=search)
    if event_from is not None:
        rows = rows.filter(case__latest_event__gte=event_from)
    if event_to is not None:
        rows = rows.filter(case__latest_event__lte=event_to)
    return rows


def cases_titled(
    user: AbstractBaseUser | AnonymousUser, text: str, *, cap: int = 2000
) -> list[int] | None:
    """Ids of the visible cases whose title contains `text`, or None when more than `cap` do.

    Titles have no index a substring search can use: one scan finds a rare title's few cases
    (the queue then reads just those), where a walk of the queue index would join every case
    row in turn, once per level and again to count. A common word stops the scan early, and
    the walk finds matches quickly then.
    """
    ids = list(
        visible_cases(user).filter(title__icontains=text).values_list("pk", flat=True)[: cap + 1]
    )
    return ids if len(ids) <= cap else None


def ranked_cases_page(
    user: AbstractBaseUser | AnonymousUser,
    filters: CaseFilters,
    *,
    classification: int | None = None,
    search: str | None = None,
    event_from: date | None = None,
    event_to: date | None = None,
    among: Sequence[int] | None = None,
    after: tuple[float, int] | None = None,
    before: tuple[float, int] | None = None,
    limit: int = 25,
) -> list[CaseScore]:
    """One page of `ranked_cases` by keyset on (score desc, case id): the rows after the
    `after` key (or, going back, the rows just before the `before` key, still in queue order).

    The stored order is the `case_queue` index (classification, -score, case); a query over
    several levels would have to read and sort every visible row, so each visible level is
    walked on its own (an index range scan that stops after `limit` rows, all in one UNION ALL
    query), the few keys found are merged here, and only the page's rows are then read.
    Returns up to `limit` rows; callers ask for one more to know if there is a next page.
    `among` limits the page to those case ids (see `cases_titled`).
    """
    clearance = clearance_of(user)
    if clearance is None:
        return []
    levels = list(range(1, int(clearance) + 1))
    if classification is not None:
        levels = [classification] if classification in levels else []
    rows = _queue_rows(user, filters, search, event_from, event_to, among)
    backwards = before is not None and after is None
    if after is not None:
        score, case_id = after
        rows = rows.filter(score__lte=score).exclude(score=score, case_id__lte=case_id)
    elif before is not None:
        score, case_id = before
        rows = rows.filter(score__gte=score).exclude(score=score, case_id__gte=case_id)
        rows = rows.order_by("score", "-case_id")
    # Keys first (an index range scan per level), then the rows of the page only.
    per_level = [
        rows.filter(classification=level).values_list("score", "case_id")[:limit]
        for level in levels
    ]
    keys: list[tuple[float, int]] = []
    if per_level:  # one round trip: (...) UNION ALL (...), each still a bounded index scan
        keys = (
            list(per_level[0].union(*per_level[1:], all=True))
            if len(per_level) > 1
            else list(per_level[0])
        )
    keys.sort(key=lambda key: (-key[0], key[1]))
    chosen = keys[-limit:] if backwards else keys[:limit]
    found = {
        row.case_id: row
        for row in ranked_cases(user, CaseFilters())
        .select_related("case__assignee")
        .defer("case__features", "case__keys", "case__links")
        .filter(case_id__in=[case_id for _, case_id in chosen])
    }
    return [found[case_id] for _, case_id in chosen if case_id in found]


def count_ranked_cases(
    user: AbstractBaseUser | AnonymousUser,
    filters: CaseFilters,
    *,
    classification: int | None = None,
    search: str | None = None,
    event_from: date | None = None,
    event_to: date | None = None,
    among: Sequence[int] | None = None,
    cap: int | None = None,
) -> int:
    """How many scored cases the user may see under these filters (at most `cap` counted)."""
    rows = _queue_rows(user, filters, search, event_from, event_to, among)
    if classification is not None:
        rows = rows.filter(classification=classification)
    if cap is not None:
        return rows.order_by().values("case_id")[:cap].count()
    return rows.order_by().count()


def score_histograms_by_category(
    user: AbstractBaseUser | AnonymousUser, bins: int = 10
) -> dict[str, list[int]]:
    """Visible cases per category and score band (`bins` equal bands over 0-100, 100 in the
    last), categories with no visible case left out; a case whose reports differ in category
    is under "mixed"."""
    clearance = clearance_of(user)
    if clearance is None:
        return {}
    width = 100 / bins
    rows = (
        CaseScore.objects.filter(classification__lte=int(clearance))
        .annotate(
            band=Least(
                Floor(F("score") / Value(width)), Value(float(bins - 1)), output_field=FloatField()
            ),
            category=F("case__category"),
        )
        .values("category", "band")
        .annotate(n=Count("case_id"))
    )
    out: dict[str, list[int]] = {}
    for row in rows:
        counts = out.setdefault(row["category"], [0] * bins)
        counts[max(int(row["band"]), 0)] += row["n"]
    return out


def highest_visible_level(user: AbstractBaseUser | AnonymousUser) -> int | None:
    """The highest classification among the scored cases the user may see."""
    found = ranked_cases(user, CaseFilters()).order_by().aggregate(level=Max("classification"))
    return found["level"]


def search_visible_cases(
    user: AbstractBaseUser | AnonymousUser,
    text: str,
    *,
    classification: int | None = None,
    exclude: int | None = None,
    limit: int = 20,
) -> list[Case]:
    """Cases the user may see whose title contains `text` (or whose number it is)."""
    text = text.strip()
    if not text:
        return []
    cases = visible_cases(user)
    if classification is not None:
        cases = cases.filter(classification=classification)
    if exclude is not None:
        cases = cases.exclude(pk=exclude)
    match = Q(title__icontains=text)
    if text.lstrip("#").isdigit():
        match |= Q(pk=int(text.lstrip("#")))
    return list(
        cases.filter(match)
        .select_related("scored")
        .defer("features", "keys", "links")
        .order_by("-scored__score", "pk")[:limit]
    )


def case_of_report(user: AbstractBaseUser | AnonymousUser, report: Report) -> Case | None:
    """The case holding `report`, if the user may see it."""
    return visible_cases(user).filter(members__report=report).defer("features").first()


def case_overrides(user: AbstractBaseUser | AnonymousUser, case: Case) -> QuerySet[CaseOverride]:
    """Analysts' merges and splits touching the reports of `case` the user may see."""
    ids = case_reports(user, case).values("pk")
    return (
        CaseOverride.objects.filter(Q(report_a__in=ids) | Q(report_b__in=ids))
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def case_with_workflow(user: AbstractBaseUser | AnonymousUser, case_id: int) -> Case | None:
    return (
        visible_cases(user)
        .filter(pk=case_id)
        .select_related("scored", "assignee")
        .defer("features")
        .first()
    )


def redirected_case(user: AbstractBaseUser | AnonymousUser, old_id: int) -> int | None:
    """Where the reports of a merged-away case went, if the user may see that case."""
    target = CaseRedirect.objects.filter(old_id=old_id).values_list("case_id", flat=True).first()
    if target is None or not visible_cases(user).filter(pk=target).exists():
        return None
    return int(target)


def case_notes(user: AbstractBaseUser | AnonymousUser, case: Case) -> list[CaseNote]:
    if not visible_cases(user).filter(pk=case.pk).exists():
        return []
    return list(case.notes.select_related("author").order_by("created_at", "pk"))


def seen_times(
    user: AbstractBaseUser | AnonymousUser, case_ids: Sequence[int]
) -> dict[int, datetime]:
    """When the user last looked at each of these cases (absent: never)."""
    if not isinstance(user, User):
        return {}
    return dict(
        CaseSeen.objects.filter(user=user, case_id__in=list(case_ids)).values_list(
            "case_id", "seen_at"
        )
    )


def analysts_for(user: AbstractBaseUser | AnonymousUser, level: int) -> list[User]:
    """Users a case at `level` can be assigned to (analysts and releasers cleared for it)."""

    if clearance_of(user) is None:
        return []
    return list(
        User.objects.filter(
            is_active=True,
            profile__role__in=list(AUTHOR_ROLES),
            profile__clearance__gte=level,
        ).order_by("username")
    )


# --------------------------------------------------------------------------------------------
# Scoring configurations and proposed refits (the trust console's scoring page)
# --------------------------------------------------------------------------------------------

REFIT_METRICS = (
    ("ndcg50", "NDCG@50", True),
    ("average_precision", "Average precision", True),
    ("brier", "Brier score (lower is better)", False),
)
SHOWN_CHANGES = 12


@dataclass(frozen=True)
class MetricRow:
    label: str
    fitted: float
    active: float
    better: bool  # the fitted configuration does better on this metric
    same: bool


@dataclass(frozen=True)
class RefitSummary:
    """A proposed (or decided) refit as the scoring page shows it."""

    row: ScoringConfigVersion
    evaluation: dict[str, Any]
    metrics: list[MetricRow]
    changes: list[dict[str, Any]]  # largest first, the first SHOWN_CHANGES
    more_changes: list[dict[str, Any]]
    calibration: list[tuple[dict[str, Any], dict[str, Any]]]  # (fitted, active) per bin


@dataclass(frozen=True)
class ScoringOverview:
    active: ScoringConfigVersion | None  # None: the built-in default is in use
    active_version: str
    proposed: list[RefitSummary]
    withheld: list[tuple[ScoringConfigVersion, str]]  # proposals above the viewer: level name
    history: list[ScoringConfigVersion]


def learned_up_to(row: ScoringConfigVersion) -> Classification:
    """The highest classification of the dispositions a refit learned from (a proposal from
    before this was recorded counts as the highest level)."""
    level = (row.evaluation or {}).get("learned_up_to")
    return Classification(int(level)) if level else max(Classification)


def refit_summary(row: ScoringConfigVersion) -> RefitSummary | None:
    ev = row.evaluation or {}
    if "fitted" not in ev or "active" not in ev:
        return None  # a configuration activated from a file: no held-out comparison
    metrics = []
    for key, label, higher in REFIT_METRICS:
        fitted, active = float(ev["fitted"][key]), float(ev["active"][key])
        metrics.append(
            MetricRow(
                label, fitted, active, (fitted > active) if higher else (fitted < active),
                fitted == active,
            )
        )  # fmt: skip
    changes = [c for c in ev.get("weights", []) if c.get("change")]
    fitted_bins = ev["fitted"].get("calibration", [])
    active_bins = ev["active"].get("calibration", [])
    bins = list(zip(fitted_bins, active_bins, strict=False))  # same held-back cases, same bins
    return RefitSummary(row, ev, metrics, changes[:SHOWN_CHANGES], changes[SHOWN_CHANGES:], bins)


def scoring_overview(
    viewer: AbstractBaseUser | AnonymousUser, history: int = 20
) -> ScoringOverview:
    """The risk-score page: proposals drawn from dispositions above the viewer's clearance are
    listed by version and level only, with none of their figures."""
    rows = ScoringConfigVersion.objects.select_related("created_by", "decided_by")
    active = rows.filter(state=ConfigState.ACTIVE).first()
    clearance = clearance_of(viewer)
    proposed, withheld = [], []
    for row in rows.filter(state=ConfigState.PROPOSED).order_by("-created_at", "-pk"):
        if clearance is None or learned_up_to(row) > clearance:
            withheld.append((row, learned_up_to(row).name))
        elif (summary := refit_summary(row)) is not None:
            proposed.append(summary)
    past = list(
        rows.filter(state__in=[ConfigState.RETIRED, ConfigState.REJECTED]).order_by(
            "-created_at", "-pk"
        )[:history]
    )
    return ScoringOverview(
        active=active,
        active_version=active.version if active else DEFAULT_CONFIG.version,
        proposed=proposed,
        withheld=withheld,
        history=past,
    )


def stored_level_of_case(case_id: int) -> int | None:
    """The classification of a case whatever the reader's clearance, or None if there is no
    such case: only for recording a refused read, never shown."""
    return Case.objects.filter(pk=case_id).values_list("classification", flat=True).first()
