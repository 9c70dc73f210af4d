"""Ranked cases with their explanations; merge and split for analysts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponsePermanentRedirect
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import record_hidden_read, record_read
from cases import selectors, services
from cases.models import Case, CaseStatus
from core.api.pagination import PageNumberPagination
from core.api.strict import StrictQuerySerializer
from reports.models import Category

from .serializers import (
    AssignSerializer,
    CaseDetailSerializer,
    CaseNoteSerializer,
    CaseSerializer,
    DisposeSerializer,
    MergeSerializer,
    NoteSerializer,
    SplitSerializer,
    StatusSerializer,
)


class CaseFilterSerializer(StrictQuerySerializer):
    category = serializers.ChoiceField(choices=[*Category.values, "mixed"], required=False)
    status = serializers.ChoiceField(choices=CaseStatus.values, required=False)
    assignee = serializers.CharField(
        required=False, max_length=150, help_text="a username, or 'me', or 'none'"
    )
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False)
    origin = serializers.RegexField(r"^[a-z]{2,8}$", required=False)
    min_score = serializers.FloatField(min_value=0, max_value=100, required=False)
    max_score = serializers.FloatField(
        min_value=0, max_value=100, required=False, help_text="exclusive upper bound"
    )


def _case_or_404(request: Request, case_id: int) -> Any:
    case = selectors.visible_cases(request.user).filter(pk=case_id).first()
    if case is None:
        raise NotFound("no case with that id")
    return case


def _detail(request: Request, case: Case) -> dict[str, Any]:
    fresh = selectors.case_with_workflow(request.user, case.pk) or case
    reports = list(selectors.case_reports(request.user, fresh))
    return dict(CaseDetailSerializer(fresh, context={"reports": reports}).data)


def _service_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(getattr(exc, "message_dict", {"detail": exc.messages}))


def _call(request: Request, action: Any, *args: Any) -> Any:
    """A case service, its refusals as API errors (400 with the field, 404, 403)."""
    try:
        return action(request.user, *args)
    except DjangoValidationError as exc:
        raise _service_errors(exc) from None
    except Case.DoesNotExist:
        raise NotFound("no case with that id") from None


class CaseListView(APIView):
    pagination_class = PageNumberPagination

    @extend_schema(parameters=[CaseFilterSerializer], responses=CaseSerializer(many=True))
    def get(self, request: Request, version: str) -> Response:
        filters = CaseFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.ranked_cases(
            request.user, selectors.filters_for(request.user, **filters.validated_data)
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        current = paginator.page
        offset = (current.number - 1) * current.paginator.per_page if current and page else 0
        cases = [row.case for row in page]
        ranks = {case.pk: offset + i + 1 for i, case in enumerate(cases)}
        data = CaseSerializer(cases, many=True, context={"ranks": ranks}).data
        return paginator.get_paginated_response(data)


class CaseDetailView(APIView):
    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request: Request, version: str, case_id: int) -> Any:
        case = selectors.visible_cases(request.user).filter(pk=case_id).first()
        if case is None:
            moved = selectors.redirected_case(request.user, case_id)
            if moved is not None:  # merged into another case: follow the reports
                return HttpResponsePermanentRedirect(
                    reverse("case-detail", kwargs={"version": version, "case_id": moved})
                )
            level = selectors.stored_level_of_case(case_id)
            record_hidden_read(request.user, "case", str(case_id), level)
            raise NotFound("no case with that id")
        detail = _detail(request, case)
        record_read(request.user, "case", str(case.pk), case.classification)
        return Response(detail)


class CaseMergeView(APIView):
    @extend_schema(request=MergeSerializer, responses=CaseDetailSerializer)
    def post(self, request: Request, version: str, case_id: int) -> Response:
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The service checks role first, then that every case is visible (else "not found").
        merged = _call(request, services.merge_cases, [case_id, *body.validated_data["cases"]])
        return Response(_detail(request, merged))


class CaseSplitView(APIView):
    @extend_schema(request=SplitSerializer, responses=CaseDetailSerializer(many=True))
    def post(self, request: Request, version: str, case_id: int) -> Response:
        body = SplitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        parts = _call(
            request,
            services.split_case,
            case_id,
            [str(r) for r in body.validated_data["reports"]],
        )
        return Response([_detail(request, part) for part in parts], status=status.HTTP_200_OK)


class CaseStatusView(APIView):
    @extend_schema(request=StatusSerializer, responses=CaseDetailSerializer)
    def post(self, request: Request, version: str, case_id: int) -> Response:
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["status"] in ("closed_confirmed", "closed_dismissed"):
            case = _call(request, services.dispose_case, case_id, data["status"], data["reason"])
        else:
            case = _call(request, services.set_case_status, case_id, data["status"])
        return Response(_detail(request, case))


class CaseDisposeView(APIView):
    @extend_schema(request=DisposeSerializer, responses=CaseDetailSerializer)
    def post(self, request: Request, version: str, case_id: int) -> Response:
        body = DisposeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        case = _call(request, services.dispose_case, case_id, data["outcome"], data["reason"])
        return Response(_detail(request, case))


class CaseAssignView(APIView):
    @extend_schema(request=AssignSerializer, responses=CaseDetailSerializer)
    def post(self, request: Request, version: str, case_id: int) -> Response:
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = _call(request, services.assign_case, case_id, body.validated_data["assignee"])
        return Response(_detail(request, case))


class CaseNotesView(APIView):
    @extend_schema(responses=CaseNoteSerializer(many=True))
    def get(self, request: Request, version: str, case_id: int) -> Response:
        case = _case_or_404(request, case_id)
        notes = selectors.case_notes(request.user, case)
        return Response(CaseNoteSerializer(notes, many=True).data)

    @extend_schema(request=NoteSerializer, responses={201: CaseNoteSerializer})
    def post(self, request: Request, version: str, case_id: int) -> Response:
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        note = _call(request, services.add_case_note, case_id, body.validated_data["text"])
        return Response(CaseNoteSerializer(note).data, status=status.HTTP_201_CREATED)
