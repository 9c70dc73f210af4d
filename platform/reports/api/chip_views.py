"""Export-control checks for accelerators: the catalogue and a classifier for entered specs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exportcontrol.catalogue import all_chips, lookup
from exportcontrol.classify import Verdict, classify, classify_specs


def _verdict(verdict: Verdict) -> dict[str, Any]:
    return asdict(verdict)


class ChipCatalogueView(APIView):
    @extend_schema(responses=serializers.ListSerializer(child=serializers.DictField()))
    def get(self, request: Request, version: str) -> Response:
        rows = []
        for chip in all_chips():
            rows.append({"chip": asdict(chip), "verdict": _verdict(classify(chip))})
        return Response(rows)


class ClassifySerializer(serializers.Serializer[dict[str, Any]]):
    model = serializers.CharField(max_length=100, required=False)
    dense_tops = serializers.DictField(
        child=serializers.FloatField(min_value=0),
        required=False,
        help_text='dense TOPS/TFLOPS by bit length, e.g. {"8": 296, "16": 148}',
    )
    die_area_mm2 = serializers.FloatField(min_value=1, required=False, allow_null=True)
    datacenter = serializers.BooleanField(default=True)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000, default=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("model") and not attrs.get("dense_tops"):
            raise serializers.ValidationError("give a catalogue model or dense_tops figures")
        return attrs


class ChipClassifyView(APIView):
    @extend_schema(request=ClassifySerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, version: str) -> Response:
        serializer = ClassifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("model") and not data.get("dense_tops"):
            chip = lookup(data["model"])
            if chip is None:
                raise serializers.ValidationError(
                    {"model": [f"{data['model']!r} is not in the catalogue; enter its specs"]}
                )
            verdict = classify(chip)
        else:
            try:
                rates = {int(bits): rate for bits, rate in data["dense_tops"].items()}
                verdict = classify_specs(rates, data.get("die_area_mm2"), data["datacenter"])
            except ValueError as exc:
                raise serializers.ValidationError({"dense_tops": [str(exc)]}) from None
        result = _verdict(verdict)
        result["quantity"] = data["quantity"]
        result["total_tpp"] = verdict.tpp * data["quantity"]
        return Response(result)
