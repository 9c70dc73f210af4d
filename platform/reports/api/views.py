"""Analyst report API: thin views over services (writes) and selectors (reads)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import clearance_of
from audit.services import record_hidden_read, record_read
from core.api.pagination import PageNumberPagination
from core.api.schema import ConflictSerializer
from core.api.strict import StrictQuerySerializer
from core.markings import Classification
from reports import selectors, services
from reports.models import Category, Report, Status

from .serializers import (
    REPORT_REVISE_REQUEST,
    REPORT_WRITE_REQUEST,
    ReportReviseSerializer,
    ReportSummarySerializer,
    ReportVersionSerializer,
    ReportWriteSerializer,
    WithdrawSerializer,
)
from .validation import check_report_request


class ReportFilterSerializer(StrictQuerySerializer):
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    origin = serializers.RegexField(r"^[a-z]{2,8}$", required=False)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False)
    classification = serializers.ChoiceField(
        choices=[c.name for c in Classification], required=False
    )
    rel_to = serializers.RegexField(r"^[a-z]{2,8}$", required=False)
    tlp = serializers.ChoiceField(
        choices=["clear", "green", "amber", "amber+strict", "red"], required=False
    )
    event_from = serializers.DateField(required=False)
    event_to = serializers.DateField(required=False)
    search = serializers.CharField(max_length=100, required=False)

    def to_filters(self) -> selectors.ReportFilters:
        data = dict(self.validated_data)
        if "classification" in data:
            data["classification"] = Classification[data["classification"]]
        return selectors.ReportFilters(**data)


def _parse_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("no report with that id") from None


def _visible_or_404(request: Request, report_id: str) -> Report:
    parsed = _parse_id(report_id)
    report = selectors.get_report(request.user, parsed)
    if report is None:
        level = selectors.stored_level_of_report(parsed)
        record_hidden_read(request.user, "report", str(parsed), level)
        raise NotFound("no report with that id")
    return report


def _user(request: Request) -> User:
    """The signed-in user; IsAuthenticated has already refused everyone else."""
    if not isinstance(request.user, User):
        raise PermissionDenied("sign in first")
    return request.user


def _run(write: Any) -> Any:
    try:
        return write()
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None


class ReportListView(APIView):
    pagination_class = PageNumberPagination

    @extend_schema(
        parameters=[ReportFilterSerializer], responses=ReportSummarySerializer(many=True)
    )
    def get(self, request: Request, version: str) -> Response:
        filters = ReportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.list_reports(request.user, filters.to_filters())
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(ReportSummarySerializer(page, many=True).data)

    @extend_schema(request=REPORT_WRITE_REQUEST, responses={201: ReportVersionSerializer})
    def post(self, request: Request, version: str) -> Response:
        serializer = ReportWriteSerializer(data=request.data)
        check_report_request(serializer)
        created = _run(
            lambda: services.create_report(
                author=_user(request),
                content=serializer.to_content(),
                status=serializer.validated_data.get("status", Status.DRAFT),
            )
        )
        return Response(ReportVersionSerializer(created).data, status=status.HTTP_201_CREATED)


class ReportDetailView(APIView):
    @extend_schema(responses=ReportVersionSerializer)
    def get(self, request: Request, version: str, report_id: str) -> Response:
        report = _visible_or_404(request, report_id)
        shown = selectors.current_version(report)
        record_read(
            request.user, "report", str(report.pk), shown.classification, version=shown.version
        )
        return Response(ReportVersionSerializer(shown).data)

    @extend_schema(
        request=REPORT_REVISE_REQUEST,
        responses={200: ReportVersionSerializer, 409: ConflictSerializer},
        description="Every edit makes a new immutable version; send the version you edited.",
    )
    def put(self, request: Request, version: str, report_id: str) -> Response:
        report = _visible_or_404(request, report_id)
        serializer = ReportReviseSerializer(data=request.data)
        check_report_request(serializer)
        try:
            revised = _run(
                lambda: services.revise_report(
                    author=_user(request),
                    report_id=report.pk,
                    base_version=serializer.validated_data["base_version"],
                    content=serializer.to_content(),
                    status=serializer.validated_data.get("status"),
                )
            )
        except services.VersionConflict as exc:
            return Response(
                {"detail": str(exc), "current_version": exc.current},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(ReportVersionSerializer(revised).data)


class ReportHistoryView(APIView):
    @extend_schema(responses=ReportVersionSerializer(many=True))
    def get(self, request: Request, version: str, report_id: str) -> Response:
        report = _visible_or_404(request, report_id)
        clearance = clearance_of(request.user) or Classification.OFFICIAL
        versions = selectors.report_versions(report).filter(classification__lte=int(clearance))
        return Response(ReportVersionSerializer(versions, many=True).data)


class ReportVersionView(APIView):
    @extend_schema(responses=ReportVersionSerializer)
    def get(self, request: Request, version: str, report_id: str, number: int) -> Response:
        report = _visible_or_404(request, report_id)
        clearance = clearance_of(request.user) or Classification.OFFICIAL
        found = (
            selectors.report_versions(report)
            .filter(version=number, classification__lte=int(clearance))
            .first()
        )
        if found is None:
            raise NotFound("no such version")
        record_read(request.user, "report", str(report.pk), found.classification, version=number)
        return Response(ReportVersionSerializer(found).data)


class ReportWithdrawView(APIView):
    @extend_schema(
        request=WithdrawSerializer,
        responses={200: ReportVersionSerializer, 409: ConflictSerializer},
    )
    def post(self, request: Request, version: str, report_id: str) -> Response:
        report = _visible_or_404(request, report_id)
        serializer = WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            withdrawn = _run(
                lambda: services.withdraw_report(
                    user=_user(request),
                    report_id=report.pk,
                    base_version=serializer.validated_data["base_version"],
                    reason=serializer.validated_data["reason"],
                )
            )
        except services.VersionConflict as exc:
            return Response(
                {"detail": str(exc), "current_version": exc.current},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(ReportVersionSerializer(withdrawn).data)
