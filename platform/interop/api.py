"""Analyst API for STIX: export a report or a case as a bundle, upload a bundle into drafts,
see what an import kept, save and run pull schedules."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.validators import RegexValidator
from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.strict import JsonTypesMixin

from . import services
from .models import ImportRun, PullSource
from .selectors import case_bundle, report_bundle
from .stix.imports import BundleError

STIX_MEDIA = "application/stix+json;version=2.1"

# A STIX bundle is a free-form JSON object in the schema: its shape is STIX 2.1's own (see the
# README), not a DRF serializer's. It is served as STIX's media type.
_bundle_schema = extend_schema(responses={(200, STIX_MEDIA): OpenApiTypes.OBJECT})


# "import" is a keyword in Python: these shapes are built from dicts.
ImportResultSerializer = inline_serializer(
    "ImportResult",
    {
        "import": serializers.IntegerField(allow_null=True, help_text="the new import run"),
        "drafts": serializers.ListField(child=serializers.UUIDField()),
        "new_objects": serializers.IntegerField(),
        "already_held": serializers.IntegerField(),
    },
)


# A refused bundle names the object and field; an unreadable body has `detail` only.
BundleRefusalSerializer = inline_serializer(
    "BundleRefusal",
    {
        "detail": serializers.CharField(),
        "object_index": serializers.IntegerField(allow_null=True, required=False),
        "object_id": serializers.CharField(required=False),
        "field": serializers.CharField(required=False),
        "message": serializers.CharField(required=False),
    },
)


_import_schema = extend_schema(
    request=OpenApiTypes.OBJECT,
    responses={
        200: ImportResultSerializer,
        201: ImportResultSerializer,
        400: BundleRefusalSerializer,
    },
)


def _bundle_response(bundle: dict[str, Any], request: Request, name: str) -> HttpResponse:
    response = JsonResponse(bundle, content_type=STIX_MEDIA)
    if request.query_params.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{name}.stix.json"'
    return response


@_bundle_schema
class ReportStixView(APIView):
    """GET: the report's current version as a STIX 2.1 bundle, with its markings."""

    def get(
        self, request: Request, report_id: uuid.UUID, version: str | None = None
    ) -> HttpResponse:
        bundle = report_bundle(request.user, report_id)
        if bundle is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return _bundle_response(bundle, request, f"report-{report_id}")


@_bundle_schema
class CaseStixView(APIView):
    """GET: the case as a STIX `grouping` with the reports in it you may see."""

    def get(self, request: Request, case_id: int, version: str | None = None) -> HttpResponse:
        bundle = case_bundle(request.user, case_id)
        if bundle is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return _bundle_response(bundle, request, f"case-{case_id}")


def _result(result: services.ImportResult) -> dict[str, Any]:
    return {
        "import": result.run.pk if result.run else None,
        "drafts": [str(r.pk) for r in result.reports],
        "new_objects": len(result.new_objects),
        "already_held": len(result.duplicates),
    }


@_import_schema
class ImportView(APIView):
    """POST a STIX 2.1 bundle: it becomes local drafts marked as imported; a bad bundle is
    refused whole naming the object and the field."""

    def post(self, request: Request, version: str | None = None) -> Response:
        source = str(request.query_params.get("source") or f"upload:{request.user.get_username()}")
        try:
            result = services.import_bundle(user=request.user, data=request.data, source=source)  # type: ignore[arg-type]
        except BundleError as exc:
            return Response(
                {"detail": str(exc), **exc.as_dict()}, status=status.HTTP_400_BAD_REQUEST
            )
        code = status.HTTP_201_CREATED if result.run else status.HTTP_200_OK
        return Response(_result(result), status=code)


ImportDetailSerializer = inline_serializer(
    "ImportDetail",
    {
        "import": serializers.IntegerField(),
        "source": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "objects": inline_serializer(
            "ImportedObject",
            {
                "id": serializers.CharField(),
                "type": serializers.CharField(),
                "version": serializers.CharField(),
                "mapped": serializers.BooleanField(),
                "report": serializers.UUIDField(allow_null=True),
            },
            many=True,
        ),
    },
)


@extend_schema(responses=ImportDetailSerializer)
class ImportDetailView(APIView):
    """GET: one import, with every object it brought, mapped to a draft or kept as received."""

    def get(self, request: Request, run_id: int, version: str | None = None) -> Response:
        from reports.selectors import visible_reports

        run = ImportRun.objects.filter(pk=run_id).first()
        if run is None or (
            run.imported_by_id != request.user.pk
            and not visible_reports(request.user).filter(imported__run=run).exists()
        ):
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        visible = set(
            visible_reports(request.user).filter(imported__run=run).values_list("pk", flat=True)
        )
        objects = [
            {
                "id": o.stix_id,
                "type": o.stix_type,
                "version": o.version,
                "mapped": o.mapped,
                "report": str(o.report_id) if o.report_id else None,
            }
            for o in run.imported_objects.order_by("pk")
            if o.report_id is None or o.report_id in visible
        ]
        return Response(
            {
                "import": run.pk,
                "source": run.source,
                "created_at": run.created_at,
                "objects": objects,
            }
        )


class PullSourceSerializer(JsonTypesMixin, serializers.Serializer[PullSource]):
    name = serializers.CharField(max_length=200)
    collection_url = serializers.URLField(
        max_length=500,
        validators=[RegexValidator(r"^https?://", "an http:// or https:// URL")],
        help_text="https (http outside production); loopback, private and link-local "
        "addresses only if FEDERATION_ALLOWED_NETWORKS allows them",
    )
    interval_minutes = serializers.IntegerField(min_value=5, max_value=10_080, default=60)
    username = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    secret = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True, write_only=True
    )


class PullSourceSavedSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    interval_minutes = serializers.IntegerField()


@extend_schema(request=PullSourceSerializer, responses={201: PullSourceSavedSerializer})
class PullSourceView(APIView):
    """POST: save a pull schedule for a collection of another TAXII 2.1 server."""

    def post(self, request: Request, version: str | None = None) -> Response:
        body = PullSourceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        source = services.save_pull_source(user=request.user, **body.validated_data)  # type: ignore[arg-type]
        return Response(
            {"id": source.pk, "name": source.name, "interval_minutes": source.interval_minutes},
            status=201,
        )


class PullFailedSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField()


@extend_schema(
    request=None,
    responses={
        200: ImportResultSerializer,
        400: BundleRefusalSerializer,
        502: PullFailedSerializer,
    },
)
class PullNowView(APIView):
    """POST: pull a saved source now (its owner only)."""

    def post(self, request: Request, source_id: int, version: str | None = None) -> Response:
        source = PullSource.objects.filter(pk=source_id, owner_id=request.user.pk).first()
        if source is None:
            return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        try:
            result = services.pull_source(source)
        except services.PullFailed as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_502_BAD_GATEWAY)
        except BundleError as exc:
            return Response(
                {"detail": str(exc), **exc.as_dict()}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(_result(result))
