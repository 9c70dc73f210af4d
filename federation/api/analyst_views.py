"""Provenance for analysts: which node signed a report, with which key, and the path it took."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import clearance_of
from audit.services import record_read
from federation.selectors import provenance_of
from reports.selectors import get_report


class ProvenanceView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, version: str, report_id: str) -> Response:
        try:
            parsed = uuid.UUID(report_id)
        except ValueError:
            raise NotFound("no report with that id") from None
        report = get_report(request.user, parsed)
        if report is None:
            raise NotFound("no report with that id")
        data: dict[str, Any] = provenance_of(report, int(clearance_of(request.user) or 0))
        record_read(request.user, "report.provenance", str(report.pk), report.classification)
        return Response(data)
