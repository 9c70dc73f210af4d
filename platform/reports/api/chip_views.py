"""Export-control checks for accelerators: the catalogue and a classifier for entered specs."""

from __future__ import annotations

import math
import sys
from dataclasses import asdict
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.strict import JsonTypesMixin
from exportcontrol.catalogue import VALID_BIT_LENGTHS, all_chips, lookup
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


_BITS = [str(bits) for bits in sorted(VALID_BIT_LENGTHS)]
# Above the largest double a JSON number reads as infinity, which no rate is.
_RATE = {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": sys.float_info.max}


@extend_schema_field(
    {
        "type": "object",
        "properties": dict.fromkeys(_BITS, _RATE),
        "additionalProperties": False,
        "minProperties": 1,
    }
)
class DenseTopsField(serializers.DictField):
    """Dense TOPS/TFLOPS by bit length: only the bit lengths the rule counts, rates above 0."""

    child = serializers.FloatField()

    def to_internal_value(self, data: Any) -> dict[str, float]:
        rates: dict[str, float] = super().to_internal_value(data)
        errors = {
            bits: [f"a bit length is one of {', '.join(_BITS)}"]
            for bits in rates
            if bits not in _BITS
        }
        errors |= {
            bits: ["a dense rate is a finite number above 0"]
            for bits, rate in rates.items()
            if not 0 < rate < math.inf
        }
        if not rates:
            raise serializers.ValidationError("give the dense rate for at least one bit length")
        if errors:
            raise serializers.ValidationError(errors)
        return rates


def _catalogue_names() -> list[str]:
    return sorted({label for chip in all_chips() for label in (chip.name, *chip.aliases)})


# Only a catalogued name or alias classifies (case, spaces and hyphens aside): an enum says so.
@extend_schema_field({"type": "string", "enum": _catalogue_names()})
class CatalogueModelField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        name: str = super().to_internal_value(data)
        if lookup(name) is None:
            raise serializers.ValidationError(f"{name!r} is not in the catalogue; enter its specs")
        return name


class ClassifySerializer(JsonTypesMixin, serializers.Serializer[dict[str, Any]]):
    # Either a model or the figures: an anyOf in the document, the same check in validate().
    request_schema_extra = {"anyOf": [{"required": ["model"]}, {"required": ["dense_tops"]}]}

    model = CatalogueModelField(max_length=100, required=False)
    dense_tops = DenseTopsField(
        required=False, help_text='dense TOPS/TFLOPS by bit length, e.g. {"8": 296, "16": 148}'
    )
    die_area_mm2 = serializers.FloatField(
        min_value=1, max_value=sys.float_info.max, required=False, allow_null=True
    )
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
            assert chip is not None  # CatalogueModelField refused every other name
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
