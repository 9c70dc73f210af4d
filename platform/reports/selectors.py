"""Reads for reports, always scoped: a user sees only what their clearance and this node allow."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from accounts.selectors import clearance_of, may_publish
from core.markings import Classification
from core.selectors import this_node

from .models import Report, ReportVersion, Status


def visible_reports(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Report]:
    """Reports at or below the user's clearance that this node may hold.

    Drafts stay with their author and the node's releasers.
    """
    clearance = clearance_of(user)
    if clearance is None:
        return Report.objects.none()
    node = this_node().code
    queryset = Report.objects.filter(classification__lte=int(clearance)).filter(
        Q(origin=node) | Q(rel_nodes__contains=[node])
    )
    if not may_publish(user):
        queryset = queryset.filter(~Q(status=Status.DRAFT) | Q(author_id=user.pk))
    return queryset


@dataclass(frozen=True)
class ReportFilters:
    category: str | None = None
    status: str | None = None
    origin: str | None = None
    country: str | None = None
    classification: Classification | None = None
    rel_to: str | None = None
    tlp: str | None = None
    event_from: date | None = None
    event_to: date | None = None
    search: str | None = None


def list_reports(
    user: AbstractBaseUser | AnonymousUser, filters: ReportFilters
) -> QuerySet[Report]:
    queryset = visible_reports(user)
    if filters.category:
        queryset = queryset.filter(category=filters.category)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.origin:
        queryset = queryset.filter(origin=filters.origin)
    if filters.country:
        queryset = queryset.filter(countries__contains=[filters.country])
    if filters.classification is not None:
        queryset = queryset.filter(classification=int(filters.classification))
    if filters.rel_to:
        queryset = queryset.filter(rel_nodes__contains=[filters.rel_to])
    if filters.tlp:
        queryset = queryset.filter(tlp=filters.tlp)
    if filters.event_from:
        queryset = queryset.filter(
            Q(event_end__gte=filters.event_from)
            | Q(event_end__isnull=True, event_start__gte=filters.event_from)
        )
    if filters.event_to:
        queryset = queryset.filter(event_start__lte=filters.event_to)
    if filters.search:
        queryset = queryset.filter(title__icontains=filters.search)
    return queryset.order_by("-updated_at", "id")


def get_report(user: AbstractBaseUser | AnonymousUser, report_id: uuid.UUID) -> Report | None:
    return visible_reports(user).filter(pk=report_id).first()


def report_versions(report: Report) -> QuerySet[ReportVersion]:
    return report.versions.prefetch_related("links__entity").order_by("version")


def current_version(report: Report) -> ReportVersion:
    return report.versions.prefetch_related("links__entity").get(version=report.current_version)


def stored_level_of_report(report_id: uuid.UUID) -> int | None:
    """The classification of a report whatever the reader's clearance, or None if there is no
    such report: only for recording a refused read, never shown."""
    return Report.objects.filter(pk=report_id).values_list("classification", flat=True).first()
