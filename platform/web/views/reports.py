"""Report list and report view, with withdrawal (the triage queue of cases is `views.cases`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.selectors import clearance_of
from audit.services import record_hidden_read, record_read
from cases.selectors import case_of_report
from core.markings import Classification, Marking
from core.selectors import this_node
from exportcontrol.catalogue import lookup
from exportcontrol.classify import Verdict, classify
from federation.models import DeliveryState
from federation.selectors import provenance_of
from reports import selectors, services
from reports.models import Category, Report, ReportVersion, Status
from search import selectors as search_selectors
from search.views import reports_csv

from ..access import AUTHORS, READERS, current_profile, current_user, has_role, role_required
from ..diffs import version_changes
from ..forms import ReportFilterForm, WithdrawForm
from ..labels import PARTY_LABELS, RED_FLAG_LABELS, node_name
from ..marking import banner_for, page_banner

PAGE_SIZE = 25


def _clearance(request: HttpRequest) -> Classification:
    return clearance_of(request.user) or Classification.OFFICIAL


def _listed_reports(request: HttpRequest, form: ReportFilterForm) -> QuerySet[Report]:
    """The list's reports: newest first, or best first when words are searched (full text over
    names, serials, references and notes, not titles only)."""
    filters = form.to_filters() if request.GET else selectors.ReportFilters()
    if not filters.search:
        return selectors.list_reports(request.user, filters)
    return search_selectors.matching_reports(request.user, filters.search, filters)


@role_required(*READERS)
def report_list(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET or None, clearance=_clearance(request))
    reports = _listed_reports(request, form)
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    rows: list[Report] = list(page.object_list)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "banner": page_banner(r.classification for r in rows),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "may_write": has_role(request, *AUTHORS),
    }
    if getattr(request, "htmx", False):
        return render(request, "web/reports/_results.html", context)
    return render(request, "web/reports/list.html", context)


@role_required(*READERS)
def report_list_csv(request: HttpRequest) -> HttpResponse:
    """The report list with its filters as CSV."""
    form = ReportFilterForm(request.GET or None, clearance=_clearance(request))
    return reports_csv(request, "reports", _listed_reports(request, form))


@dataclass(frozen=True)
class ChipLine:
    model: str
    quantity: int | None
    serials: list[str]
    verdict: Verdict | None


def _chip_lines(items: list[dict[str, Any]]) -> list[ChipLine]:
    lines = []
    for item in items:
        chip = lookup(str(item.get("model", "")))
        lines.append(
            ChipLine(
                model=str(item.get("model", "")),
                quantity=item.get("quantity"),
                serials=list(item.get("serials") or []),
                verdict=classify(chip) if chip else None,
            )
        )
    return lines


NUMBER_FACTS = frozenset({"value_usd", "gpu_hours"})


def _fact_text(key: str, value: Any) -> str:
    """A detail as read: amounts and hours with thousands separators, as TPP is."""
    if key in NUMBER_FACTS and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _details_view(version: ReportVersion) -> dict[str, Any]:
    details = version.details or {}
    parties = [
        (PARTY_LABELS[key], details[key])
        for key in PARTY_LABELS
        if isinstance(details.get(key), dict) and details[key].get("name")
    ]
    chips_key = {"chip_diversion": "items", "military_ai": "chips_used", "cloud_compute": "chips"}
    return {
        "parties": parties,
        "chips": _chip_lines(details.get(chips_key.get(version.category, ""), None) or []),
        "intermediaries": details.get("intermediaries") or [],
        "route": details.get("route") or [],
        "red_flags": [RED_FLAG_LABELS.get(f, f) for f in details.get("red_flags") or []],
        "facts": [
            (label, _fact_text(key, details[key]))
            for key, label in (
                ("value_usd", "Declared value (USD)"),
                ("eccn", "ECCN"),
                ("shipment_ref", "Shipment reference"),
                ("capability", "Capability"),
                ("training_compute_flop", "Training compute (FLOP)"),
                ("gpu_hours", "GPU hours"),
                ("description", "Description"),
            )
            if details.get(key) not in (None, "")
        ],
    }


def _marking(version: ReportVersion) -> Marking:
    return Marking(
        Classification(version.classification), tuple(version.rel_to), version.orcon, version.tlp
    )


def _entity_ids(links: list[Any]) -> dict[str, int]:
    """Entity page ids by normalised name, so the parties in the details link to their pages."""
    return {link.entity.normalized_name: link.entity_id for link in links}


def _identifiers(report: Report) -> list[str]:
    document = getattr(report, "search_document", None)
    return list(document.identifiers) if document is not None else []


def _visible_report(request: HttpRequest, report_id: uuid.UUID) -> Report:
    report = selectors.get_report(request.user, report_id)
    if report is None:
        level = selectors.stored_level_of_report(report_id)
        record_hidden_read(request.user, "report", str(report_id), level)
        raise Http404("no report with that id")
    return report


LIVE_EVERY_S = 3
LIVE_MAX_POLLS = 200  # about ten minutes: a page left open stops asking


@dataclass(frozen=True)
class LiveState:
    """Whether the report page should keep asking for its delivery status and case."""

    deliveries_pending: bool
    grouping_pending: bool
    next_poll: int
    every_s: int = LIVE_EVERY_S

    @property
    def settled(self) -> bool:
        return not (self.deliveries_pending or self.grouping_pending)

    @property
    def polling(self) -> bool:
        return not self.settled and self.next_poll <= LIVE_MAX_POLLS


def _live_state(report: Report, provenance: dict[str, Any], case: Any, polls: int) -> LiveState:
    pending = any(
        delivery["state"] == DeliveryState.PENDING
        for release in provenance["releases"]
        for delivery in release["delivered_to"]
    )
    # Published and received reports are grouped by the scoring worker; drafts and
    # withdrawn reports never are, so they are not waited for.
    awaiting_case = case is None and report.status == Status.PUBLISHED
    return LiveState(pending, awaiting_case, polls + 1)


def _history(versions: list[ReportVersion]) -> list[tuple[ReportVersion, int | None]]:
    """Newest first, each with the number of the version it is compared with (the one before
    it among those listed, which are only those the reader may see)."""
    earlier: list[int | None] = [None, *(v.version for v in versions[:-1])]
    return list(reversed(list(zip(versions, earlier, strict=True))))


def _detail_context(
    request: HttpRequest, report: Report, number: int | None, withdraw_form: WithdrawForm
) -> dict[str, Any]:
    clearance = _clearance(request)
    versions = list(selectors.report_versions(report).filter(classification__lte=int(clearance)))
    shown = next((v for v in versions if v.version == (number or report.current_version)), None)
    if shown is None:
        raise Http404("no such version")
    own = report.origin == this_node().code
    # The version compared with is the newest earlier one the reader may see: a diff never
    # draws on a version above the clearance.
    previous = next((v for v in reversed(versions) if v.version < shown.version), None)
    provenance = provenance_of(report, int(current_profile(request).clearance))
    case = case_of_report(request.user, report)
    entities = list(shown.links.select_related("entity").order_by("role", "entity__name"))
    return {
        "report": report,
        "version": shown,
        "versions": list(reversed(versions)),
        "history": _history(versions),
        "previous": previous,
        "changes": version_changes(previous, shown) if previous else None,
        "is_current": shown.version == report.current_version,
        "marking": _marking(shown),
        "banner": banner_for(shown.classification, _marking(shown).banner()),
        "details": _details_view(shown),
        "entities": entities,
        "entity_ids": _entity_ids(entities),
        "identifiers": _identifiers(report)[:10],
        "related": search_selectors.related_reports(request.user, report)
        if shown.version == report.current_version
        else [],
        "provenance": provenance,
        "case": case,
        "live": _live_state(report, provenance, case, 0),
        "origin_name": node_name(report.origin),
        "own": own,
        "may_edit": own
        and report.status != Status.WITHDRAWN
        and has_role(request, *AUTHORS)
        and report.classification <= clearance,
        "withdraw_form": withdraw_form,
        "category_label": Category(shown.category).label,
    }


@role_required(*READERS)
def report_detail(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    report = _visible_report(request, report_id)
    number = request.GET.get("version")
    context = _detail_context(
        request,
        report,
        int(number) if number and number.isdigit() else None,
        WithdrawForm(initial={"base_version": report.current_version}),
    )
    shown: ReportVersion = context["version"]
    record_read(
        current_user(request), "report", str(report.pk), shown.classification, version=shown.version
    )
    return render(request, "web/reports/detail.html", context)


@role_required(*READERS)
def report_live(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    """htmx, polled while the page is unsettled: the report's case and delivery status, scoped
    as the page is (provenance of versions within the clearance, the case only if visible).
    Not audited as a read: the page that polls was, and this repeats part of it."""
    report = _visible_report(request, report_id)
    provenance = provenance_of(report, int(current_profile(request).clearance))
    case = case_of_report(request.user, report)
    polls = request.GET.get("n", "")
    context = {
        "report": report,
        "provenance": provenance,
        "case": case,
        "live": _live_state(report, provenance, case, int(polls[:6]) if polls.isdigit() else 0),
    }
    return render(request, "web/reports/_live_fragment.html", context)


@require_POST
@role_required(*AUTHORS)
def report_withdraw(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    report = _visible_report(request, report_id)
    form = WithdrawForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.withdraw_report(
                user=current_user(request),
                report_id=report.pk,
                base_version=form.cleaned_data["base_version"],
                reason=form.cleaned_data["reason"],
            )
        except services.VersionConflict as exc:
            error = f"{exc}."
        except PermissionDenied as exc:
            error = str(exc)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, "The report was withdrawn; partners receive the withdrawal.")
            return redirect("web:report-detail", report_id=report.pk)
    context = _detail_context(request, report, None, form)
    context["withdraw_error"] = error
    context["withdraw_open"] = True
    return render(request, "web/reports/detail.html", context, status=400)
