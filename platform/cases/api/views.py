"""Ranked cases with their explanations; merge and split for analysts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import selectors, services
from reports.models import Category

from .serializers import CaseDetailSerializer, CaseSerializer, MergeSerializer, SplitSerializer


class CaseFilterSerializer(serializers.Serializer[dict[str, Any]]):
    category = serializers.ChoiceField(choices=[*Category.values, "mixed"], required=False)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False)
    origin = serializers.RegexField(r"^[a-z]{2,8}$", required=False)
    min_score = serializers.FloatField(min_value=0, max_value=100, required=False)


def _case_or_404(request: Request, case_id: int) -> Any:
    case = selectors.visible_cases(request.user).filter(pk=case_id).first()
    if case is None:
        raise NotFound("no case with that id")
    return case


def _user(request: Request) -> User:
    if not isinstance(request.user, User):
        raise PermissionDenied("sign in first")
    return request.user


class CaseListView(APIView):
    @extend_schema(parameters=[CaseFilterSerializer], responses=CaseSerializer(many=True))
    def get(self, request: Request, version: str) -> Response:
        filters = CaseFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.ranked_cases(
            request.user, selectors.CaseFilters(**filters.validated_data)
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, request, view=self) or []
        current = paginator.page
        offset = (current.number - 1) * current.paginator.per_page if current and page else 0
        cases = [row.case for row in page]
        ranks = {case.pk: offset + i + 1 for i, case in enumerate(cases)}
        data = CaseSerializer(cases, many=True, context={"ranks": ranks}).data
        return paginator.get_paginated_response(data)


class CaseDetailView(APIView):
    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request: Request, version: str, case_id: int) -> Response:
        case = _case_or_404(request, case_id)
        reports = list(selectors.case_reports(request.user, case))
        return Response(CaseDetailSerializer(case, context={"reports": reports}).data)


class CaseMergeView(APIView):
    @extend_schema(request=MergeSerializer, responses=CaseDetailSerializer)
    def post(self, request: Request, version: str, case_id: int) -> Response:
        case = _case_or_404(request, case_id)
        body = MergeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        others = [_case_or_404(request, other).pk for other in body.validated_data["cases"]]
        try:
            merged = services.merge_cases([case.pk, *others], _user(request))
        except ValueError as exc:
            raise serializers.ValidationError({"cases": [str(exc)]}) from None
        reports = list(selectors.case_reports(request.user, merged))
        return Response(CaseDetailSerializer(merged, context={"reports": reports}).data)


class CaseSplitView(APIView):
    @extend_schema(request=SplitSerializer, responses=CaseDetailSerializer(many=True))
    def post(self, request: Request, version: str, case_id: int) -> Response:
        case = _case_or_404(request, case_id)
        body = SplitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            parts = services.split_case(
                case.pk, [str(r) for r in body.validated_data["reports"]], _user(request)
            )
        except ValueError as exc:
            raise serializers.ValidationError({"reports": [str(exc)]}) from None
        data = [
            CaseDetailSerializer(
                part, context={"reports": list(selectors.case_reports(request.user, part))}
            ).data
            for part in parts
        ]
        return Response(data, status=status.HTTP_200_OK)
