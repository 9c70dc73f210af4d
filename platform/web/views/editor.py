"""The report editor: structured details per category, markings, chip verdicts and a live
preview of which partners would receive the report under the current trust policy."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import clearance_of, may_publish
from core.markings import Classification, MarkingError
from core.selectors import this_node
from exportcontrol.catalogue import all_chips
from reports import selectors, services
from reports.models import Category, Report, Status

from ..access import AUTHORS, current_user, role_required
from ..countries import country_choices
from ..editor.chips import chip_verdict, verdicts
from ..editor.conversion import Errors, content_from_raw, errors_of, marking_of
from ..editor.layout import layout, top_fields
from ..editor.raw import Raw, add_row, empty_raw, raw_from_content, raw_from_post, remove_row
from ..marking import banner_for
from ..selectors import release_preview

STATUS_OF_ACTION = {"draft": Status.DRAFT, "publish": Status.PUBLISHED, "save": None}


def _clearance(request: HttpRequest) -> Classification:
    return clearance_of(request.user) or Classification.OFFICIAL


def _editor_context(
    request: HttpRequest,
    raw: Raw,
    errors: Errors,
    report: Report | None,
    base_version: int | None,
    form_error: str | None = None,
) -> dict[str, Any]:
    top = top_fields(raw, _clearance(request))
    placed = layout(raw, errors, top)
    fields = {f.name: f for f in top}
    level = Classification.__members__.get(raw["classification"])
    return {
        "raw": raw,
        "f": fields,
        "layout": placed,
        "errors": errors,
        "form_error": form_error,
        "report": report,
        "base_version": base_version,
        "chip_names": [chip.name for chip in all_chips()],
        "countries": country_choices(),
        "may_publish": may_publish(request.user),
        "published": report is not None and report.status == Status.PUBLISHED,
        "banner": banner_for(level) if level and level <= _clearance(request) else None,
        "verdicts": verdicts(placed),
        "category_label": Category(raw["category"]).label,
    }


def _handle(
    request: HttpRequest, report: Report | None, base_version: int | None
) -> tuple[Raw, Errors, str | None, HttpResponse | None]:
    """Apply the button the user pressed. Returns the state to render, or a redirect."""
    origin = report.origin if report else this_node().code
    raw = raw_from_post(request.POST, origin)
    action = request.POST.get("_action", "refresh")
    if action.startswith("add:"):
        add_row(raw, action[4:])
        return raw, {}, None, None
    if action.startswith("remove:"):
        base, _, index = action[7:].rpartition(":")
        if index.isdigit():
            remove_row(raw, base, int(index))
        return raw, {}, None, None
    if action not in STATUS_OF_ACTION:
        return raw, {}, None, None
    try:
        content = content_from_raw(raw, origin)
        user = current_user(request)
        if report is None:
            status = STATUS_OF_ACTION[action] or Status.DRAFT
            version = services.create_report(author=user, content=content, status=status)
        else:
            version = services.revise_report(
                author=user,
                report_id=report.pk,
                base_version=base_version or 0,
                content=content,
                status=STATUS_OF_ACTION[action],
            )
    except (ValidationError, MarkingError) as exc:
        return raw, errors_of(exc), "Please correct the fields marked below.", None
    except services.VersionConflict as exc:
        return raw, {}, f"Someone saved a newer version meanwhile: {exc}.", None
    except PermissionDenied as exc:
        message = str(exc)
        return raw, {}, message[:1].upper() + message[1:] + ". Your changes are kept below.", None
    published = version.status == Status.PUBLISHED
    messages.success(
        request,
        f"Version {version.version} saved"
        + (" and released to the entitled partners." if published else " as a draft."),
    )
    return raw, {}, None, redirect("web:report-detail", report_id=version.report_id)


@role_required(*AUTHORS)
def report_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        raw, errors, form_error, done = _handle(request, None, None)
        if done is not None:
            return done
        status = 400 if errors or form_error else 200
        context = _editor_context(request, raw, errors, None, None, form_error)
        return render(request, "web/reports/editor.html", context, status=status)
    category = request.GET.get("category", "")
    raw = empty_raw(this_node().code, category if category in Category.values else None)
    return render(request, "web/reports/editor.html", _editor_context(request, raw, {}, None, None))


def _own_report(request: HttpRequest, report_id: uuid.UUID) -> Report:
    report = selectors.get_report(request.user, report_id)
    if report is None:
        raise Http404("no report with that id")
    if report.origin != this_node().code:
        raise PermissionDenied("reports received from partners are read-only here")
    if report.status == Status.WITHDRAWN:
        raise PermissionDenied("a withdrawn report cannot change")
    return report


@role_required(*AUTHORS)
def report_edit(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    report = _own_report(request, report_id)
    if request.method == "POST":
        base = request.POST.get("base_version", "")
        base_version = int(base) if base.isdigit() else report.current_version
        raw, errors, form_error, done = _handle(request, report, base_version)
        if done is not None:
            return done
        status = 400 if errors or form_error else 200
        context = _editor_context(request, raw, errors, report, base_version, form_error)
        return render(request, "web/reports/editor.html", context, status=status)
    current = selectors.current_version(report)
    raw = raw_from_content(services.content_of(current))
    context = _editor_context(request, raw, {}, report, report.current_version)
    return render(request, "web/reports/editor.html", context)


@require_POST
@role_required(*AUTHORS)
def release_preview_fragment(request: HttpRequest) -> HttpResponse:
    """htmx: which partners would receive the report as the form now stands, and why not."""
    origin = this_node().code
    raw = raw_from_post(request.POST, origin)
    marking, problem = marking_of(raw, origin)
    preview = release_preview(marking, raw["category"], origin) if marking else None
    level = Classification.__members__.get(raw["classification"])
    shown = level is not None and level <= _clearance(request)
    return render(
        request,
        "web/reports/_preview.html",
        {
            "preview": preview,
            "problem": problem,
            "marking": marking,
            "banner": banner_for(level, marking.banner() if marking else "") if shown else None,
            "oob": True,
        },
    )


@require_GET
@role_required(*AUTHORS)
def chip_verdict_fragment(request: HttpRequest) -> HttpResponse:
    """htmx: the ECCN 3A090 verdict for one chip row as the analyst picks model and quantity."""
    prefix = request.GET.get("row", "")
    if not prefix.startswith("details.") or len(prefix) > 60:
        raise Http404("unknown row")
    specs = {
        key.removeprefix(f"{prefix}.spec_"): str(value)
        for key, value in request.GET.items()
        if key.startswith(f"{prefix}.spec_")
    }
    verdict = chip_verdict(
        request.GET.get(f"{prefix}.model", ""),
        request.GET.get(f"{prefix}.quantity", "").replace(",", ""),
        specs,
    )
    return render(request, "web/reports/_chip_verdict.html", {"v": verdict, "row": prefix})


@require_GET
@role_required(*AUTHORS)
def details_fragment(request: HttpRequest) -> HttpResponse:
    """htmx: the details fields of another category when the analyst changes it."""
    category = request.GET.get("category", "")
    raw = empty_raw(this_node().code, category if category in Category.values else Category.OTHER)
    placed = layout(raw, {}, top_fields(raw, _clearance(request)))
    return render(
        request,
        "web/reports/_details.html",
        {"layout": placed, "verdicts": {}, "raw": raw},
    )
