"""The triage queue (cases ranked by risk) and the case view, with merge and split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import clearance_of
from audit.services import record_hidden_read, record_read
from cases import selectors
from cases import services as case_services
from cases.models import CLOSED_STATUSES, Case, CaseOverride, CaseScore, CaseStatus
from core.markings import Classification, Marking
from core.selectors import this_node
from federation.selectors import provenances_of
from reports.models import Category, Report, ReportVersion

from ..access import AUTHORS, READERS, current_profile, current_user, has_role, role_required
from ..case_charts import (
    ContributionBar,
    TimelineEntry,
    contribution_bar,
    route_diagram,
    timeline,
)
from ..exports import EXPORT_LIMIT, csv_response
from ..forms import (
    CaseAssignForm,
    CaseDispositionForm,
    CaseFilterForm,
    CaseNoteForm,
    CaseStatusForm,
    MergeForm,
    SplitForm,
)
from ..marking import page_banner
from ..triage import Cursor, Signature, explain, origin_label, signature_of

PAGE_SIZE = 25
COUNT_CAP = 10_000  # counting every visible case at a million reports would cost more than a page
LINK_REASONS = {
    "serial": "Same chip serial number",
    "shipment_ref": "Same shipment reference",
    "consignee": "Same consignee",
    "customer": "Same customer",
    "organisation": "Same organisation",
    "entity_name": "Similar entity name",
    "suspected_end_user": "Same suspected end user",
    "declared_end_user": "Same declared end user",
    "intermediary": "Same intermediary",
    "address": "Same address",
    "country": "Same country",
    "items": "Same items",
    "quantity": "Similar quantity",
    "route": "Same route",
    "event_date": "Close event dates",
    "analyst": "Merged by an analyst",
    "evidence": "Combined evidence",
}
EVIDENCE_FIELDS = {
    "serial": "chip serials",
    "shipment_ref": "shipment reference",
    "name": "name",
    "suspected_end_user": "suspected end user",
    "declared_end_user": "declared end user",
    "intermediary": "intermediaries",
    "address": "address",
    "country": "country",
    "items": "items",
    "quantity": "quantity",
    "route": "route",
    "event_date": "event dates",
    "analyst": "analyst",
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _clearance(request: HttpRequest) -> Classification:
    return clearance_of(request.user) or Classification.OFFICIAL


def _category_label(value: str) -> str:
    return "Mixed categories" if value == "mixed" else dict(Category.choices).get(value, value)


# --------------------------------------------------------------------------------------------
# Triage queue
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    rank: int
    scored: CaseScore
    case: Case
    category: str
    bar: ContributionBar
    cursor: str
    news: str  # "new" (never opened), "changed" (since last opened) or ""


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    has_previous: bool
    has_next: bool

    @property
    def first_rank(self) -> int:
        return self.rows[0].rank if self.rows else 0

    @property
    def last_rank(self) -> int:
        return self.rows[-1].rank if self.rows else 0

    @property
    def previous_cursor(self) -> str:
        return self.rows[0].cursor if self.rows else ""

    @property
    def next_cursor(self) -> str:
        return self.rows[-1].cursor if self.rows else ""


def _queue_page(
    request: HttpRequest, filters: selectors.CaseFilters, extra: dict[str, Any]
) -> QueuePage:
    user = request.user
    after = Cursor.decode(request.GET.get("after"))
    before = None if after else Cursor.decode(request.GET.get("before"))
    found: list[CaseScore] = []
    first_rank, has_previous, has_next = 1, False, False
    if before is not None:
        found = selectors.ranked_cases_page(
            user, filters, **extra, before=before.key, limit=PAGE_SIZE + 1
        )
        has_previous = len(found) > PAGE_SIZE
        found = found[-PAGE_SIZE:]
        first_rank, has_next = before.rank - len(found), True
        if not has_previous:  # back at the top: show a full first page
            before = None
    if before is None:
        found = selectors.ranked_cases_page(
            user, filters, **extra, after=after.key if after else None, limit=PAGE_SIZE + 1
        )
        has_next = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
        has_previous = after is not None
        first_rank = after.rank + 1 if after else 1
    seen = selectors.seen_times(user, [scored.case_id for scored in found])
    rows = []
    for offset, scored in enumerate(found):
        rank = first_rank + offset
        explanation = explain(
            scored.score, scored.baseline, scored.contributions, scored.config_version
        )
        rows.append(
            QueueRow(
                rank=rank,
                scored=scored,
                case=scored.case,
                category=_category_label(scored.case.category),
                bar=contribution_bar(scored.score, scored.baseline, explanation.lines),
                cursor=Cursor(scored.score, scored.case_id, rank).encode(),
                news=_news(scored.case, seen.get(scored.case_id)),
            )
        )
    return QueuePage(rows, has_previous, has_next)


def _news(case: Case, seen: datetime | None) -> str:
    if seen is None:
        return "new"
    return "changed" if case.changed_at > seen else ""


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters as the page and its CSV export both read them."""

    form: CaseFilterForm
    chosen: dict[str, Any]
    filters: selectors.CaseFilters
    extra: dict[str, Any]  # the keyword filters of `ranked_cases_page` / `count_ranked_cases`


def _queue_query(request: HttpRequest) -> QueueQuery:
    form = CaseFilterForm(request.GET or None, clearance=_clearance(request))
    chosen = form.cleaned()
    filters = selectors.filters_for(
        request.user,
        category=chosen.get("category"),
        country=chosen.get("country"),
        origin=chosen.get("origin"),
        min_score=chosen.get("min_score"),
        max_score=chosen.get("max_score"),
        status=chosen.get("status"),
        assignee=chosen.get("assignee"),
    )
    extra: dict[str, Any] = {
        key: chosen.get(key) for key in ("classification", "search", "event_from", "event_to")
    }
    if chosen.get("search"):  # a rare title: one scan for its cases, not one per level
        extra["among"] = selectors.cases_titled(request.user, chosen["search"])
    return QueueQuery(form, chosen, filters, extra)


@role_required(*READERS)
def case_queue(request: HttpRequest) -> HttpResponse:
    query = _queue_query(request)
    page = _queue_page(request, query.filters, query.extra)
    count = selectors.count_ranked_cases(
        request.user, query.filters, **query.extra, cap=COUNT_CAP + 1
    )
    context = {
        "form": query.form,
        "page": page,
        "count": min(count, COUNT_CAP),
        "count_capped": count > COUNT_CAP,
        "banner": page_banner(row.scored.classification for row in page.rows),
        "filtered": any(value not in (None, "") for value in query.chosen.values()),
    }
    if getattr(request, "htmx", False):
        return render(request, "web/cases/_queue_results.html", context)
    return render(request, "web/cases/queue.html", context)


CASE_CSV_HEADER = (
    "case",
    "rank",
    "classification",
    "score",
    "title",
    "status",
    "assignee",
    "category",
    "countries",
    "reports",
    "independent_origins",
    "latest_event",
    "top_contributions",
    "scoring_config",
)
TOP_CONTRIBUTIONS = 3


def _top_contributions(scored: CaseScore) -> str:
    explanation = explain(
        scored.score, scored.baseline, scored.contributions, scored.config_version
    )
    largest = sorted(
        (line for line in explanation.lines if not line.is_rest and line.points),
        key=lambda line: -abs(line.points),
    )
    return "; ".join(f"{line.label} {line.shown}" for line in largest[:TOP_CONTRIBUTIONS])


def _case_csv_row(rank: int, scored: CaseScore) -> list[object]:
    case = scored.case
    return [
        case.pk,
        rank,
        Classification(scored.classification).name,
        f"{scored.score:.1f}",
        case.title,
        case.get_status_display(),
        case.assignee.get_username() if case.assignee else "",
        _category_label(case.category),
        " ".join(case.countries),
        case.report_count,
        " ".join(code.upper() for code in case.origins),
        case.latest_event.isoformat() if case.latest_event else "",
        _top_contributions(scored),
        scored.config_version,
    ]


@role_required(*READERS)
def case_queue_csv(request: HttpRequest) -> HttpResponse:
    """The queue with its filters as CSV, in queue order from the top (at most EXPORT_LIMIT
    cases; the page's cursor is not an export filter)."""
    query = _queue_query(request)
    found = selectors.ranked_cases_page(
        request.user, query.filters, **query.extra, limit=EXPORT_LIMIT
    )
    return csv_response(
        request,
        name="cases",
        kind="case",
        header=CASE_CSV_HEADER,
        rows=[_case_csv_row(rank, scored) for rank, scored in enumerate(found, start=1)],
        levels=[scored.classification for scored in found],
    )


# --------------------------------------------------------------------------------------------
# Case view
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseReport:
    report: Report
    origin: str
    marking: Marking
    signature: Signature
    route: list[str]
    received_label: str
    received: Any


def _visible_case(request: HttpRequest, case_id: int, attempt: str = "case.view") -> Case:
    """The case, or a 404 (`attempt`, the read or change tried, audited if the case exists)."""
    case = selectors.case_with_workflow(request.user, case_id)
    if case is None:
        raise _case_not_found(request, case_id, attempt)
    return case


def _case_not_found(request: HttpRequest, case_id: int, attempt: str = "case.view") -> Http404:
    """The 404 for a case the user may not see, the attempt audited if the case exists (as
    the services do for the API)."""
    level = selectors.stored_level_of_case(case_id)
    record_hidden_read(request.user, "case", str(case_id), level, action=attempt)
    return Http404("no case with that number")


def _marking(report: Report) -> Marking:
    return Marking(
        Classification(report.classification), tuple(report.rel_to), report.orcon, report.tlp
    )


def _case_reports(request: HttpRequest, case: Case) -> list[CaseReport]:
    reports = list(selectors.case_reports(request.user, case))
    if not reports:  # nothing in it the user may see: as if it did not exist
        raise Http404("no case with that number")
    provenance = provenances_of(
        reports, int(current_profile(request).clearance)
    )  # three queries for every report and release
    routes = dict(
        ReportVersion.objects.filter(
            report__in=[r.pk for r in reports], version=F("report__current_version")
        ).values_list("report_id", "details__route")
    )
    here = this_node().code
    rows = []
    for report in reports:
        signature = signature_of(provenance[str(report.pk)], here)
        route = routes.get(report.pk)
        own = report.origin == here
        rows.append(
            CaseReport(
                report=report,
                origin=origin_label(report.origin),
                marking=_marking(report),
                signature=signature,
                route=[str(c) for c in route] if isinstance(route, list) else [],
                received_label="filed here" if own else "received",
                received=report.created_at if own else signature.received_at or report.created_at,
            )
        )
    return rows


def _split_choices(rows: list[CaseReport]) -> list[tuple[str, str]]:
    return [
        (str(row.report.pk), f"{row.report.title} ({row.report.origin.upper()})") for row in rows
    ]


def _links(case: Case, titles: dict[str, str]) -> list[dict[str, Any]]:
    links = []
    for link in case.links or []:
        a, b = str(link.get("a", "")), str(link.get("b", ""))
        links.append(
            {
                "reason": LINK_REASONS.get(str(link.get("reason")), str(link.get("reason"))),
                "detail": link.get("detail", ""),
                "evidence": [
                    {**e, "field": EVIDENCE_FIELDS.get(str(e.get("field")), str(e.get("field")))}
                    for e in link.get("evidence") or []
                    if isinstance(e, dict)
                ],
                "score": link.get("score"),
                "a": a,
                "b": b,
                "a_title": titles.get(a),
                "b_title": titles.get(b),
            }
        )
    return links


def _workflow_forms(request: HttpRequest, case: Case) -> dict[str, Any]:
    people = [
        (str(user.pk), user.get_username())
        for user in selectors.analysts_for(request.user, case.classification)
    ]
    return {
        "status_form": CaseStatusForm(initial={"status": case.status}),
        "disposition_form": CaseDispositionForm(
            initial={"outcome": case.status, "reason": case.disposition_reason}
        ),
        "assign_form": CaseAssignForm(
            initial={"assignee": str(case.assignee_id or "")}, people=people
        ),
        "note_form": CaseNoteForm(),
    }


def _case_context(
    request: HttpRequest,
    case: Case,
    *,
    merge_form: MergeForm | None = None,
    split_form: SplitForm | None = None,
) -> dict[str, Any]:
    rows = _case_reports(request, case)
    titles = {str(row.report.pk): row.report.title for row in rows}
    scored: CaseScore | None = getattr(case, "scored", None)
    explanation = (
        explain(scored.score, scored.baseline, scored.contributions, scored.config_version)
        if scored
        else None
    )
    ordered = sorted(
        rows,
        key=lambda row: (
            row.report.event_start or row.report.event_end or row.received.date(),
            row.received,
        ),
    )
    entries = [
        TimelineEntry(
            label=f"{row.report.origin.upper()} · {row.report.title[:22]}"
            + ("…" if len(row.report.title) > 22 else ""),
            event_start=row.report.event_start,
            event_end=row.report.event_end,
            received=row.received,
            received_label=row.received_label,
        )
        for row in ordered
    ]
    relayed = [row for row in rows if row.signature.relayed]
    may_write = has_role(request, *AUTHORS)
    workflow = _workflow_forms(request, case) if may_write else {}
    return {
        **workflow,
        "notes": selectors.case_notes(request.user, case),
        "merged_from": sorted(case.redirects.values_list("old_id", flat=True)),
        "status_label": CaseStatus(case.status).label,
        "closed": case.status in CLOSED_STATUSES,
        "case": case,
        "scored": scored,
        "explanation": explanation,
        "rows": rows,
        "ordered": ordered,
        "timeline": timeline(entries),
        "route": route_diagram([row.route for row in rows if row.route]),
        "origins": [origin_label(code) for code in case.origins],
        "relayed": relayed,
        "links": _links(case, titles),
        "overrides": list(selectors.case_overrides(request.user, case)[:20]),
        "together": CaseOverride.KEEP_TOGETHER,
        "category": _category_label(case.category),
        "banner": page_banner([case.classification, *(r.report.classification for r in rows)]),
        "may_write": may_write,
        "merge_form": merge_form or MergeForm(),
        "split_form": split_form or SplitForm(reports=_split_choices(rows)),
        "merge_open": merge_form is not None,
        "split_open": split_form is not None,
    }


@role_required(*READERS)
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_with_workflow(request.user, case_id)
    if case is None:
        moved = selectors.redirected_case(request.user, case_id)
        if moved is None:
            raise _case_not_found(request, case_id)
        messages.info(request, f"Case #{case_id} was merged into this case #{moved}.")
        return redirect("web:case-detail", case_id=moved, permanent=True)
    context = _case_context(request, case)
    context["news"] = _news(case, selectors.seen_times(request.user, [case.pk]).get(case.pk))
    case_services.mark_case_seen(request.user, case)
    record_read(
        current_user(request),
        "case",
        str(case.pk),
        case.classification,
        reports=len(context["rows"]),
    )
    return render(request, "web/cases/detail.html", context)


@require_GET
@role_required(*AUTHORS)
def merge_candidates(request: HttpRequest, case_id: int) -> HttpResponse:
    """htmx: visible cases at the same level whose title (or number) matches the search."""
    case = _visible_case(request, case_id)
    text = request.GET.get("q", "")[:100]
    found = selectors.search_visible_cases(
        request.user, text, classification=case.classification, exclude=case.pk
    )
    return render(
        request,
        "web/cases/_merge_candidates.html",
        {"case": case, "found": found, "q": text.strip()},
    )


@require_POST
@role_required(*AUTHORS)
def case_merge(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _visible_case(request, case_id, "case.merge")
    form = MergeForm(request.POST)
    if form.is_valid():
        numbers = [n for n in form.cleaned_data["numbers"] if n != case.pk]
        visible = set(
            selectors.visible_cases(request.user)
            .filter(pk__in=numbers)
            .values_list("pk", flat=True)
        )
        unknown = [n for n in numbers if n not in visible]
        if not numbers:
            form.add_error("case_numbers", "Give another case than this one")
        elif unknown:
            # a case above the user's clearance is "not found", like one that does not exist
            listed = ", ".join(f"#{n}" for n in unknown)
            form.add_error("case_numbers", f"No case {listed} that you may see")
        else:
            try:
                kept = case_services.merge_cases(current_user(request), [case.pk, *numbers])
            except ValidationError as exc:
                for problem in exc.message_dict.get("cases", []):
                    form.add_error("case_numbers", _sentence(problem))
            except PermissionDenied as exc:
                form.add_error("case_numbers", _sentence(str(exc).partition(": ")[2] or str(exc)))
            else:
                merged = ", ".join(f"#{n}" for n in numbers)
                messages.success(
                    request,
                    f"Cases {merged} were merged into this case; "
                    "their reports stay together from now on.",
                )
                return redirect("web:case-detail", case_id=kept.pk)
    context = _case_context(request, case, merge_form=form)
    return render(request, "web/cases/detail.html", context, status=400)


@require_POST
@role_required(*AUTHORS)
def case_split(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _visible_case(request, case_id, "case.split")
    form = SplitForm(request.POST, reports=_split_choices(_case_reports(request, case)))
    if form.is_valid():
        moving = sorted(form.cleaned_data["reports"])
        try:
            staying, moved = case_services.split_case(current_user(request), case.pk, moving)
        except ValidationError as exc:
            for problem in exc.message_dict.get("reports", []):
                form.add_error("reports", problem)
        except PermissionDenied as exc:
            form.add_error("reports", _sentence(str(exc).partition(": ")[2] or str(exc)))
        else:
            noun = "report was" if len(moving) == 1 else "reports were"
            messages.success(
                request,
                f"{len(moving)} {noun} moved out into case #{moved.pk}; "
                "they are kept apart from this case from now on.",
            )
            return redirect("web:case-detail", case_id=staying.pk)
    context = _case_context(request, case, split_form=form)
    return render(request, "web/cases/detail.html", context, status=400)


# --------------------------------------------------------------------------------------------
# Case workflow: status, disposition, assignee, notes (each one service call)
# --------------------------------------------------------------------------------------------


def _workflow_post(
    request: HttpRequest,
    case_id: int,
    form: Any,
    action: Callable[[dict[str, Any]], Any],
    done: str,
    attempt: str,
) -> HttpResponse:
    """Validate the form, call the service, and come back to the case with what happened
    (or the service's reason for refusing, next to the field it names). `attempt`: the
    service's audit action."""
    case = _visible_case(request, case_id, attempt)
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                target = field if field in form.fields else None
                for problem in problems:
                    form.add_error(target, _sentence(problem))
        except PermissionDenied as exc:
            form.add_error(None, _sentence(str(exc)))
        else:
            messages.success(request, done)
            return redirect("web:case-detail", case_id=case.pk)
    context = _case_context(request, case)
    context[_form_names[type(form)]] = form
    return render(request, "web/cases/detail.html", context, status=400)


_form_names: dict[type, str] = {
    CaseStatusForm: "status_form",
    CaseDispositionForm: "disposition_form",
    CaseAssignForm: "assign_form",
    CaseNoteForm: "note_form",
}


@require_POST
@role_required(*AUTHORS)
def case_status(request: HttpRequest, case_id: int) -> HttpResponse:
    user = current_user(request)
    return _workflow_post(
        request,
        case_id,
        CaseStatusForm(request.POST),
        lambda data: case_services.set_case_status(user, case_id, data["status"]),
        "Status changed.",
        "case.status",
    )


@require_POST
@role_required(*AUTHORS)
def case_dispose(request: HttpRequest, case_id: int) -> HttpResponse:
    user = current_user(request)
    return _workflow_post(
        request,
        case_id,
        CaseDispositionForm(request.POST),
        lambda data: case_services.dispose_case(user, case_id, data["outcome"], data["reason"]),
        "Case closed with its disposition.",
        "case.dispose",
    )


@require_POST
@role_required(*AUTHORS)
def case_assign(request: HttpRequest, case_id: int) -> HttpResponse:
    user = current_user(request)
    case = _visible_case(request, case_id, "case.assign")
    people = [
        (str(person.pk), person.get_username())
        for person in selectors.analysts_for(request.user, case.classification)
    ]
    return _workflow_post(
        request,
        case_id,
        CaseAssignForm(request.POST, people=people),
        lambda data: case_services.assign_case(
            user, case_id, int(data["assignee"]) if data.get("assignee") else None
        ),
        "Assignee changed.",
        "case.assign",
    )


@require_POST
@role_required(*AUTHORS)
def case_note(request: HttpRequest, case_id: int) -> HttpResponse:
    user = current_user(request)
    return _workflow_post(
        request,
        case_id,
        CaseNoteForm(request.POST),
        lambda data: case_services.add_case_note(user, case_id, data["text"]),
        "Note added.",
        "case.note",
    )
