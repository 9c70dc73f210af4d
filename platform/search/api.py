"""Search and entity API: thin views over `search.selectors`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.strict import StrictQuerySerializer
from core.markings import Classification
from reports.api.serializers import ReportSummarySerializer
from reports.models import Category, Status
from reports.selectors import ReportFilters

from . import selectors

PAGE_SIZE = 25


class SearchQuerySerializer(StrictQuerySerializer):
    q = serializers.CharField(max_length=selectors.MAX_QUERY)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    origin = serializers.RegexField(r"^[a-z]{2,8}$", required=False)
    classification = serializers.ChoiceField(
        choices=[c.name for c in Classification], required=False
    )
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False)
    event_from = serializers.DateField(required=False)
    event_to = serializers.DateField(required=False)
    page = serializers.IntegerField(min_value=1, max_value=40, required=False, default=1)

    def to_filters(self) -> ReportFilters:
        data = dict(self.validated_data)
        for name in ("q", "page"):
            data.pop(name, None)
        if "classification" in data:
            data["classification"] = Classification[data["classification"]]
        return ReportFilters(**data)


class SearchHitSerializer(ReportSummarySerializer):
    rank = serializers.FloatField()


class EntityOutSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    country = serializers.CharField()


class CaseOutSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()


class SearchView(APIView):
    @extend_schema(
        parameters=[SearchQuerySerializer],
        responses=inline_serializer(
            "SearchAnswer",
            {
                "count": serializers.IntegerField(),
                "count_capped": serializers.BooleanField(),
                "page": serializers.IntegerField(),
                "results": SearchHitSerializer(many=True),
                "entities": EntityOutSerializer(many=True),
                "cases": CaseOutSerializer(many=True),
            },
        ),
        description="Titles, summaries, entity names, addresses, serials, shipment references "
        "and notes; misspellings match words spelt alike. Unknown parameters are refused.",
    )
    def get(self, request: Request, version: str) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = params.validated_data["page"]
        found = selectors.search(
            request.user,
            params.validated_data["q"],
            params.to_filters(),
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        return Response(
            {
                "count": min(found.count, selectors.COUNT_CAP),
                "count_capped": found.count_capped,
                "page": page,
                "results": SearchHitSerializer(found.reports, many=True).data,
                "entities": EntityOutSerializer(found.entities, many=True).data,
                "cases": CaseOutSerializer(found.cases, many=True).data,
            }
        )


class EntityView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "EntityProfile",
            {
                "entity": EntityOutSerializer(),
                "report_count": serializers.IntegerField(),
                "roles": serializers.DictField(child=serializers.IntegerField()),
                "countries": serializers.ListField(child=serializers.CharField()),
                "first_seen": serializers.DateField(allow_null=True),
                "last_seen": serializers.DateField(allow_null=True),
                "reports": ReportSummarySerializer(many=True),
                "cases": CaseOutSerializer(many=True),
            },
        )
    )
    def get(self, request: Request, version: str, entity_id: int) -> Response:
        profile = selectors.entity_profile(request.user, entity_id)
        if profile is None:
            raise NotFound("no entity with that id")
        return Response(
            {
                "entity": EntityOutSerializer(profile.entity).data,
                "report_count": profile.report_count,
                "roles": dict(profile.roles),
                "countries": profile.countries,
                "first_seen": profile.first_seen,
                "last_seen": profile.last_seen,
                "reports": [
                    {**ReportSummarySerializer(row.report).data, "roles": list(row.roles)}
                    for row in profile.reports
                ],
                "cases": CaseOutSerializer(profile.cases, many=True).data,
            }
        )
