"""Structured details per report category, validated the same way on the API and on receipt.

Numbers that can exceed 2^53 (training compute in FLOP) travel as decimal strings, because the
federation's canonical JSON allows integers only up to 2^53 - 1 and no floats.
"""

from __future__ import annotations

import math
import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exportcontrol.countries import COUNTRY_CODES

COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
MAX_TRAINING_FLOP = 1e35
FLOP_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)?([eE]\+?[0-9]{1,3})?$")
RED_FLAGS = (
    "freight_forwarder_consignee",
    "residential_address",
    "third_country_payment",
    "refused_installation",
    "new_company",
    "evasive_end_use",
    "cash_payment",
    "unusual_routing",
    "mismatched_end_use",
    "reluctant_information",
)
INTERMEDIARY_ROLES = ("freight_forwarder", "reseller", "shell", "bank", "other")


# The document lists the codes the field takes (lower case is accepted and upper-cased too).
@extend_schema_field({"type": "string", "enum": list(COUNTRY_CODES)})
class CountryField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        if not COUNTRY_PATTERN.match(value):
            raise serializers.ValidationError("expected an ISO 3166 alpha-2 country code, e.g. SG")
        from exportcontrol.countries import is_valid_country

        if not is_valid_country(value):
            raise serializers.ValidationError(f"{value} is not an ISO 3166 alpha-2 country code")
        return value


class Strict(serializers.Serializer[dict[str, Any]]):
    """Refuse fields the schema does not know, so typos are not silently dropped."""

    refuses_unknown_fields = True  # the OpenAPI document says so (additionalProperties: false)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["unknown field for this category"] for name in unknown}
                )
        return super().to_internal_value(data)


class PartySerializer(Strict):
    name = serializers.CharField(max_length=300)
    address = serializers.CharField(
        max_length=500, required=False, allow_null=True, allow_blank=True
    )
    country = CountryField(required=False, allow_null=True)


class IntermediarySerializer(PartySerializer):
    role = serializers.ChoiceField(choices=INTERMEDIARY_ROLES, default="other")


class ChipItemSerializer(Strict):
    model = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)
    serials = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=10_000, default=list
    )


def red_flags_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=RED_FLAGS),
        required=False,
        default=list,
        max_length=len(RED_FLAGS),
    )


class ChipDiversionDetails(Strict):
    items = serializers.ListField(child=ChipItemSerializer(), min_length=1, max_length=200)
    declared_end_user = PartySerializer(required=False, allow_null=True)
    suspected_end_user = PartySerializer(required=False, allow_null=True)
    consignee = PartySerializer(required=False, allow_null=True)
    intermediaries = serializers.ListField(
        child=IntermediarySerializer(), required=False, default=list, max_length=100
    )
    route = serializers.ListField(child=CountryField(), required=False, default=list, max_length=20)
    value_usd = serializers.IntegerField(
        min_value=0, max_value=2**53 - 1, required=False, allow_null=True
    )
    eccn = serializers.RegexField(
        r"^[0-9][A-E][0-9]{3}(\.[a-z0-9.]+)?$",
        max_length=20,
        required=False,
        allow_null=True,
        error_messages={"invalid": "expected an ECCN such as 3A090.a"},
    )
    shipment_ref = serializers.CharField(max_length=100, required=False, allow_null=True)
    red_flags = red_flags_field()


class ChipUseSerializer(Strict):
    model = serializers.CharField(max_length=100)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000, required=False)


class MilitaryAIDetails(Strict):
    organisation = PartySerializer()
    capability = serializers.CharField(max_length=500)
    training_compute_flop = serializers.CharField(max_length=40, required=False, allow_null=True)
    chips_used = serializers.ListField(
        child=ChipUseSerializer(), required=False, default=list, max_length=50
    )
    red_flags = red_flags_field()

    def validate_training_compute_flop(self, value: str | None) -> str | None:
        if value is None:
            return None
        if not FLOP_PATTERN.match(value.strip()):
            raise serializers.ValidationError("expected a decimal number such as 3.2e25 (as text)")
        number = float(value)
        if number <= 0:
            raise serializers.ValidationError("training compute must be positive")
        if not math.isfinite(number) or number > MAX_TRAINING_FLOP:
            # "9e999" parses as infinity; the largest runs are around 10^26 FLOP.
            raise serializers.ValidationError(f"at most {MAX_TRAINING_FLOP:.0e} FLOP")
        return value.strip()


class CloudComputeDetails(Strict):
    provider = PartySerializer()
    customer = PartySerializer()
    chips = serializers.ListField(child=ChipUseSerializer(), required=False, default=list)
    gpu_hours = serializers.IntegerField(
        min_value=0, max_value=2**53 - 1, required=False, allow_null=True
    )
    red_flags = red_flags_field()


class GeneralDetails(Strict):
    organisation = PartySerializer(required=False, allow_null=True)
    description = serializers.CharField(max_length=5_000, required=False, allow_blank=True)
    red_flags = red_flags_field()


WEIGHTS_CHANNELS = ("leak", "theft", "unlicensed_transfer", "sale", "open_release", "licensed")
INCIDENT_CAPABILITIES = (
    "self_replication",
    "vulnerability_exploitation",
    "detection_evasion",
    "resource_acquisition",
)


class ActorSerializer(PartySerializer):
    type = serializers.ChoiceField(
        choices=("state", "company", "criminal", "individual", "unknown"), required=False
    )


class ModelWeightsDetails(GeneralDetails):
    """Model-weights proliferation: the model's compute, how the weights moved, to whom."""

    model_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    training_compute_flop = serializers.CharField(max_length=40, required=False, allow_null=True)
    channel = serializers.ChoiceField(choices=WEIGHTS_CHANNELS, required=False, allow_null=True)
    recipient = PartySerializer(required=False, allow_null=True)

    def validate_training_compute_flop(self, value: str | None) -> str | None:
        return MilitaryAIDetails().validate_training_compute_flop(value)


class AIIncidentDetails(GeneralDetails):
    """Autonomous / self-replicating AI incident: what it demonstrated, how far, by whom."""

    capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=INCIDENT_CAPABILITIES),
        required=False,
        default=list,
        max_length=len(INCIDENT_CAPABILITIES),
    )
    scale = serializers.IntegerField(min_value=0, max_value=2**53 - 1, required=False)
    actor = ActorSerializer(required=False, allow_null=True)


DETAILS_BY_CATEGORY: dict[str, type[Strict]] = {
    "chip_diversion": ChipDiversionDetails,
    "military_ai": MilitaryAIDetails,
    "cloud_compute": CloudComputeDetails,
    "model_weights": ModelWeightsDetails,
    "ai_incident": AIIncidentDetails,
    "other": GeneralDetails,
}


# One bound validator per category, reused: building a DRF serializer deep-copies every field,
# which cost more than the validation itself on the federation inbox's hot path.
_VALIDATORS: dict[str, Strict] = {}


def validate_details(category: str, details: Any) -> dict[str, Any]:
    """Validated details for `category`; raises serializers.ValidationError naming the fields."""
    serializer_class = DETAILS_BY_CATEGORY.get(category)
    if serializer_class is None:
        raise serializers.ValidationError({"category": [f"unknown category {category!r}"]})
    if not isinstance(details, dict):
        raise serializers.ValidationError({"details": ["expected an object"]})
    validator = _VALIDATORS.get(category)
    if validator is None:
        validator = _VALIDATORS.setdefault(category, serializer_class())
    try:
        validated = validator.run_validation(details)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"details": exc.detail}) from None
    return _plain(validated)


def _plain(value: Any) -> Any:
    """OrderedDicts and sets to plain JSON types, so the stored JSON is what was validated."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def countries_named(category: str, details: dict[str, Any]) -> list[str]:
    """Every country a report's details mention: route, parties, organisations."""
    found: set[str] = set(details.get("route") or [])
    for key in (
        "declared_end_user",
        "suspected_end_user",
        "consignee",
        "organisation",
        "provider",
        "customer",
        "recipient",
        "actor",
    ):
        party = details.get(key)
        if isinstance(party, dict) and party.get("country"):
            found.add(party["country"])
    for party in details.get("intermediaries") or []:
        if party.get("country"):
            found.add(party["country"])
    return sorted(found)
