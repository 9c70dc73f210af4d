from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import profile_of
from core.markings import Classification
from core.selectors import this_node


class MeView(APIView):
    """Who the caller is, on which node, with which role and clearance."""

    @extend_schema(
        responses=inline_serializer(
            "Me",
            {
                "username": serializers.CharField(),
                "node": serializers.CharField(),
                "role": serializers.CharField(allow_null=True),
                "clearance": serializers.CharField(allow_null=True),
            },
        )
    )
    def get(self, request: Request, version: str) -> Response:
        profile = profile_of(request.user)
        return Response(
            {
                "username": request.user.get_username(),
                "node": this_node().code,
                "role": profile.role if profile else None,
                "clearance": Classification(profile.clearance).name if profile else None,
            }
        )
