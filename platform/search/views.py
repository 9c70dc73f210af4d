"""Search page and entity pages of the web UI (thin: `search.selectors` does the reading)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import clearance_of
from core.markings import Classification
from notifications.selectors import watch_for
from reports.models import Category, EntityRole, Report, Status
from reports.selectors import ReportFilters
from web.access import READERS, role_required
from web.exports import EXPORT_LIMIT, csv_response
from web.forms import ReportFilterForm
from web.marking import page_banner

from . import selectors

PAGE_SIZE = 25


def _form(request: HttpRequest) -> tuple[ReportFilterForm, str, ReportFilters]:
    """The report list's filters; `q` holds the words searched."""
    clearance = clearance_of(request.user) or Classification.OFFICIAL
    form = ReportFilterForm(request.GET or None, clearance=clearance)
    filters = form.to_filters() if request.GET else ReportFilters()
    return form, filters.search or "", filters


@role_required(*READERS)
def search_page(request: HttpRequest) -> HttpResponse:
    form, text, filters = _form(request)
    page = request.GET.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= 40 else 1
    found = None
    if text:
        found = selectors.search(
            request.user,
            text,
            filters,
            offset=(number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    levels = [r.classification for r in found.reports] if found else []
    levels += [c.classification for c in found.cases] if found else []
    context = {
        "form": form,
        "found": found,
        "page_number": number,
        "has_next": bool(found and found.count > number * PAGE_SIZE),
        "banner": page_banner(levels),
    }
    template = "search/_results.html" if getattr(request, "htmx", False) else "search/search.html"
    return render(request, template, context)


@role_required(*READERS)
def entity_page(request: HttpRequest, entity_id: int) -> HttpResponse:
    profile = selectors.entity_profile(request.user, entity_id)
    if profile is None:
        raise Http404("no entity with that id")
    levels = [row.report.classification for row in profile.reports]
    levels += [case.classification for case in profile.cases]
    return render(
        request,
        "search/entity.html",
        {
            "profile": profile,
            "roles": [(EntityRole(role).label, count) for role, count in profile.roles],
            "banner": page_banner(levels),
            "watching": watch_for(request.user, "entity", str(entity_id)) is not None,
        },
    )


REPORT_CSV_HEADER = (
    "id",
    "classification",
    "rel_to",
    "tlp",
    "title",
    "category",
    "origin",
    "status",
    "event_start",
    "event_end",
    "countries",
    "updated_at",
)


def report_csv_row(report: Report) -> list[object]:
    return [
        report.pk,
        Classification(report.classification).name,
        " ".join(code.upper() for code in report.rel_to),
        f"TLP:{report.tlp.upper()}",
        report.title,
        Category(report.category).label,
        report.origin.upper(),
        Status(report.status).label,
        report.event_start.isoformat() if report.event_start else "",
        report.event_end.isoformat() if report.event_end else "",
        " ".join(report.countries),
        report.updated_at.isoformat(),
    ]


def reports_csv(request: HttpRequest, name: str, reports: QuerySet[Report]) -> HttpResponse:
    """`reports` (already scoped to the reader) as a CSV download of at most EXPORT_LIMIT."""
    rows = list(reports[:EXPORT_LIMIT])
    return csv_response(
        request,
        name=name,
        kind="report",
        header=REPORT_CSV_HEADER,
        rows=[report_csv_row(r) for r in rows],
        levels=[r.classification for r in rows],
    )


@role_required(*READERS)
def search_csv(request: HttpRequest) -> HttpResponse:
    """The search's matches, best first, as CSV."""
    _, text, filters = _form(request)
    return reports_csv(request, "search", selectors.matching_reports(request.user, text, filters))
