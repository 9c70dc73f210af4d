"""Our STIX 2.1 extension definitions and their JSON schemas. Plain Python, no Django.

The ids are minted once and never change: a breaking change gets a new id and version. Custom
report categories are new object types (`new-sdo`), chip diversion extends the standard
`incident` (`property-extension`), and markings and provenance are property extensions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEC = "2.1"
DEFINITIONS_CREATED = "2026-11-01T00:00:00.000Z"
SCHEMA_BASE = "https://schemas.allied-exchange.invalid/stix/ext"

EXT_DIVERSION = "extension-definition--9b5cdd20-f1d7-47c1-a383-c1be2ce92c42"
EXT_MILITARY_AI = "extension-definition--3c25ad6c-00dc-46c2-9eed-ec410c1c8ca2"
EXT_CLOUD = "extension-definition--18d50487-f2d1-4f57-8b7c-d059b7a8664e"
EXT_MODEL_WEIGHTS = "extension-definition--83a823bf-dc1b-4819-badd-556b07d5b5f3"
EXT_AI_INCIDENT = "extension-definition--ab1a46c1-308f-4c07-b628-23b72e392315"
EXT_OTHER = "extension-definition--16da075b-7ffd-4429-a165-1f77fd66607b"
EXT_MARKING = "extension-definition--295d733f-f2c8-405b-9793-cde9d38cb738"
EXT_REPORT = "extension-definition--134d534d-4f82-4988-a66b-1c577004cffc"
EXT_CASE = "extension-definition--0e5cc42b-ad7d-4195-b3bb-97751f0b1f9b"
# The identity that publishes the definitions (the product, not a node).
DEFINITIONS_AUTHOR = "identity--70056c34-e0ec-40f6-bee9-537f3121c93d"

# OASIS TLP 2.0 marking definitions (oasis-open/cti-stix-common-objects).
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKINGS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# STIX 2.1's predefined TLP 1.0 markings, understood on import.
TLP1_MARKINGS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "clear",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "green",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "amber",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "red",
}
TLP_BY_MARKING = {**{v: k for k, v in TLP2_MARKINGS.items()}, **TLP1_MARKINGS}

# Report category -> (new object type, its extension); chip diversion is a standard incident.
CATEGORY_TYPES: dict[str, tuple[str, str]] = {
    "chip_diversion": ("incident", EXT_DIVERSION),
    "military_ai": ("ai-development-activity", EXT_MILITARY_AI),
    "cloud_compute": ("cloud-compute-activity", EXT_CLOUD),
    "model_weights": ("model-weights-proliferation", EXT_MODEL_WEIGHTS),
    "ai_incident": ("autonomous-ai-incident", EXT_AI_INCIDENT),
    "other": ("intelligence-subject", EXT_OTHER),
}
CATEGORY_BY_EXTENSION = {ext: category for category, (_, ext) in CATEGORY_TYPES.items()}
NEW_SDO_TYPES = {t for t, _ in CATEGORY_TYPES.values() if t != "incident"}

RED_FLAGS = [
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
]
_ID = {
    "type": "string",
    "pattern": "^[a-z0-9-]+--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
}
_IDENTITY_REF = {"type": "string", "pattern": "^identity--"}
_COUNTRY = {"type": "string", "pattern": "^[A-Z]{2}$"}
_RED_FLAGS = {"type": "array", "items": {"enum": RED_FLAGS}, "uniqueItems": True}
_CHIP_USE = {
    "type": "object",
    "required": ["model"],
    "additionalProperties": False,
    "properties": {
        "model": {"type": "string", "maxLength": 100},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
    },
}


def _property_extension(
    ext_id: str, properties: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    """A whole-object schema requiring the extension block to have exactly these properties."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": ["extensions"],
        "properties": {
            "extensions": {
                "type": "object",
                "required": [ext_id],
                "properties": {
                    ext_id: {
                        "type": "object",
                        "required": ["extension_type", *required],
                        "additionalProperties": False,
                        "properties": {
                            "extension_type": {"const": "property-extension"},
                            **properties,
                        },
                    }
                },
            }
        },
    }


def _new_sdo(
    type_name: str, ext_id: str, properties: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    common = {
        "type": {"const": type_name},
        "spec_version": {"const": SPEC},
        "id": {"type": "string", "pattern": f"^{type_name}--"},
        "created": {"type": "string"},
        "modified": {"type": "string"},
        "created_by_ref": _IDENTITY_REF,
        "revoked": {"type": "boolean"},
        "object_marking_refs": {
            "type": "array",
            "items": {"type": "string", "pattern": "^marking-definition--"},
        },
        "extensions": {
            "type": "object",
            "required": [ext_id],
            "properties": {
                ext_id: {
                    "type": "object",
                    "required": ["extension_type"],
                    "additionalProperties": False,
                    "properties": {"extension_type": {"const": "new-sdo"}},
                }
            },
        },
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "red_flags": _RED_FLAGS,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": [
            "type",
            "spec_version",
            "id",
            "created",
            "modified",
            "extensions",
            "name",
            *required,
        ],
        "additionalProperties": False,
        "properties": {**common, **properties},
    }


_GENERAL = {
    "organisation_ref": _IDENTITY_REF,
    "description": {"type": "string", "maxLength": 5000},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    EXT_DIVERSION: _property_extension(
        EXT_DIVERSION,
        {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 200,
                "items": {
                    "type": "object",
                    "required": ["model", "quantity"],
                    "additionalProperties": False,
                    "properties": {
                        "model": {"type": "string", "maxLength": 100},
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 10_000_000},
                        "serials": {"type": "array", "items": {"type": "string", "maxLength": 64}},
                    },
                },
            },
            "consignee_ref": _IDENTITY_REF,
            "declared_end_user_ref": _IDENTITY_REF,
            "suspected_end_user_ref": _IDENTITY_REF,
            "intermediaries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["identity_ref", "role"],
                    "additionalProperties": False,
                    "properties": {
                        "identity_ref": _IDENTITY_REF,
                        "role": {
                            "enum": ["freight_forwarder", "reseller", "shell", "bank", "other"]
                        },
                    },
                },
            },
            "route": {"type": "array", "items": _COUNTRY, "maxItems": 20},
            "value_usd": {"type": "integer", "minimum": 0},
            "eccn": {"type": "string", "pattern": "^[0-9][A-E][0-9]{3}(\\.[a-z0-9.]+)?$"},
            "eccn_verdict": {"type": "string", "maxLength": 200},
            "shipment_ref": {"type": "string", "maxLength": 100},
            "red_flags": _RED_FLAGS,
        },
        ["items"],
    ),
    EXT_MILITARY_AI: _new_sdo(
        "ai-development-activity",
        EXT_MILITARY_AI,
        {
            "developer_ref": _IDENTITY_REF,
            "capability": {"type": "string", "minLength": 1, "maxLength": 500},
            "training_compute_flop": {
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]+)?([eE]\\+?[0-9]{1,3})?$",
            },
            "chips_used": {"type": "array", "items": _CHIP_USE},
        },
        ["developer_ref", "capability"],
    ),
    EXT_CLOUD: _new_sdo(
        "cloud-compute-activity",
        EXT_CLOUD,
        {
            "provider_ref": _IDENTITY_REF,
            "customer_ref": _IDENTITY_REF,
            "chips": {"type": "array", "items": _CHIP_USE},
            "gpu_hours": {"type": "integer", "minimum": 0},
        },
        ["provider_ref", "customer_ref"],
    ),
    EXT_MODEL_WEIGHTS: _new_sdo("model-weights-proliferation", EXT_MODEL_WEIGHTS, _GENERAL, []),
    EXT_AI_INCIDENT: _new_sdo("autonomous-ai-incident", EXT_AI_INCIDENT, _GENERAL, []),
    EXT_OTHER: _new_sdo("intelligence-subject", EXT_OTHER, _GENERAL, []),
    EXT_MARKING: {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": ["type", "extensions"],
        "properties": {
            "type": {"const": "marking-definition"},
            "extensions": {
                "type": "object",
                "required": [EXT_MARKING],
                "properties": {
                    EXT_MARKING: {
                        "type": "object",
                        "required": ["extension_type", "classification", "rel_to", "orcon"],
                        "additionalProperties": False,
                        "properties": {
                            "extension_type": {"const": "property-extension"},
                            "classification": {
                                "enum": ["OFFICIAL", "RESTRICTED", "CONFIDENTIAL", "SECRET"]
                            },
                            "rel_to": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"type": "string", "pattern": "^[a-z0-9]{2,8}$"},
                            },
                            "orcon": {"type": "boolean"},
                            "banner": {"type": "string", "maxLength": 300},
                        },
                    }
                },
            },
        },
    },
    EXT_REPORT: _property_extension(
        EXT_REPORT,
        {
            "category": {"enum": sorted(CATEGORY_TYPES)},
            "status": {"enum": ["draft", "published", "withdrawn"]},
            "local_version": {"type": "integer", "minimum": 1},
            "source_reliability": {"enum": ["A", "B", "C", "D", "E", "F"]},
            "info_credibility": {"type": "integer", "minimum": 1, "maximum": 6},
            "event_start": {"type": "string", "format": "date"},
            "event_end": {"type": "string", "format": "date"},
            "entity_roles": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["kind", "role", "name"],
                    "additionalProperties": False,
                    "properties": {
                        "ref": _ID,
                        "name": {"type": "string", "minLength": 1, "maxLength": 300},
                        "country": _COUNTRY,
                        "kind": {"enum": ["organisation", "person", "address", "country"]},
                        "role": {"type": "string", "maxLength": 20},
                    },
                },
            },
            "origin_node": {"type": "string", "pattern": "^[a-z0-9]{2,8}$"},
            "signature_status": {"enum": ["verified", "local-unreleased", "imported-unsigned"]},
            "signed_by_key": {"type": "string", "maxLength": 80},
            "envelope_digest": {"type": "string", "maxLength": 80},
            "received_from": {"type": "string", "maxLength": 8},
            "imported_from": {"type": "string", "maxLength": 500},
        },
        ["category", "origin_node", "signature_status"],
    ),
    EXT_CASE: _property_extension(
        EXT_CASE,
        {
            "case_number": {"type": "integer", "minimum": 1},
            "risk_score": {"type": "number", "minimum": 0, "maximum": 100},
            "baseline": {"type": "number"},
            "contributions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["feature", "contribution"],
                    "properties": {
                        "feature": {"type": "string"},
                        "contribution": {"type": "number"},
                    },
                },
            },
            "origins": {"type": "array", "items": {"type": "string"}},
            "countries": {"type": "array", "items": _COUNTRY},
        },
        [],
    ),
}

_DEFINITION_TEXT = {
    EXT_DIVERSION: (
        "ai-accelerator-export-diversion",
        "Export-control diversion details of an incident: controlled items and quantities, "
        "consignee, end users, intermediaries, route, value and the ECCN verdict.",
        "property-extension",
    ),
    EXT_MILITARY_AI: (
        "ai-development-activity",
        "A military-AI development programme: developer, capability, training compute and "
        "accelerators used.",
        "new-sdo",
    ),
    EXT_CLOUD: (
        "cloud-compute-activity",
        "Use of rented cloud accelerators: provider, customer, chips and GPU-hours.",
        "new-sdo",
    ),
    EXT_MODEL_WEIGHTS: (
        "model-weights-proliferation",
        "Transfer or leak of trained model weights.",
        "new-sdo",
    ),
    EXT_AI_INCIDENT: (
        "autonomous-ai-incident",
        "An autonomous or self-replicating AI incident.",
        "new-sdo",
    ),
    EXT_OTHER: ("intelligence-subject", "Any other subject of an allied report.", "new-sdo"),
    EXT_MARKING: (
        "allied-security-marking",
        "National security marking: classification on the common scale OFFICIAL < RESTRICTED "
        "< CONFIDENTIAL < SECRET, REL TO (node codes and groups) and ORCON.",
        "property-extension",
    ),
    EXT_REPORT: (
        "allied-report-provenance",
        "Report assessment (category, source reliability, information credibility) and "
        "provenance: origin node, signature status, signing key and delivery path.",
        "property-extension",
    ),
    EXT_CASE: (
        "allied-case",
        "A case of grouped reports with its explainable risk score.",
        "property-extension",
    ),
}


def definitions_author() -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": SPEC,
        "id": DEFINITIONS_AUTHOR,
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": "Allied exchange",
        "identity_class": "system",
    }


def extension_definitions() -> list[dict[str, Any]]:
    out = []
    for ext_id, (name, description, kind) in _DEFINITION_TEXT.items():
        out.append(
            {
                "type": "extension-definition",
                "spec_version": SPEC,
                "id": ext_id,
                "created_by_ref": DEFINITIONS_AUTHOR,
                "created": DEFINITIONS_CREATED,
                "modified": DEFINITIONS_CREATED,
                "name": name,
                "description": description,
                "schema": f"{SCHEMA_BASE}/{name}/1.0.0/schema.json",
                "version": "1.0.0",
                "extension_types": [kind],
            }
        )
    return out


def write_schema_dir(directory: Path) -> Path:
    """The schemas laid out as stix2-validator's `--schemas` expects: one file per extension id
    (applied to every object carrying it) and one per new object type."""
    directory.mkdir(parents=True, exist_ok=True)
    for ext_id, schema in SCHEMAS.items():
        (directory / f"{ext_id}.json").write_text(json.dumps(schema, indent=1))
    for category, (type_name, ext_id) in CATEGORY_TYPES.items():
        if type_name != "incident":
            (directory / f"{type_name}.json").write_text(json.dumps(SCHEMAS[ext_id], indent=1))
        del category
    return directory
