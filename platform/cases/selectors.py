"""Reads for cases, scoped like reports: a user sees a case only if cleared for it, and inside
it only the reports they may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.selectors import clearance_of
from reports.models import Report
from reports.selectors import visible_reports

from .models import Case, CaseScore


@dataclass(frozen=True)
class CaseFilters:
    category: str | None = None
    country: str | None = None
    origin: str | None = None
    min_score: float | None = None


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
    return rows.order_by("-score", "case_id")


def case_reports(user: AbstractBaseUser | AnonymousUser, case: Case) -> QuerySet[Report]:
    return visible_reports(user).filter(case_member__case=case).order_by("-updated_at")
