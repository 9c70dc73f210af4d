"""Reports and cases as STIX 2.1 objects. Plain Python, no Django: the callers pass snapshots.

Every object id is derived from the report id (uuid5), so exporting the same version twice gives
byte-identical objects, and a new version gives new versions (`modified`) of the same objects.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .extensions import (
    CATEGORY_TYPES,
    DEFINITIONS_CREATED,
    EXT_CASE,
    EXT_MARKING,
    EXT_REPORT,
    SPEC,
    TLP2_MARKINGS,
    definitions_author,
    extension_definitions,
)

NAMESPACE = uuid.UUID("d267901b-b164-47de-a263-81dad5bed86d")


def stix_time(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def derived_id(type_name: str, *parts: object) -> str:
    """A stable id in UUIDv4 form (STIX asks for v4): the key's SHA-256 with the v4 bits set."""
    key = "/".join([str(NAMESPACE), *(str(p) for p in parts)]).encode()
    return f"{type_name}--{uuid.UUID(bytes=hashlib.sha256(key).digest()[:16], version=4)}"


def node_identity_id(code: str) -> str:
    return derived_id("identity", "node", code)


@dataclass(frozen=True)
class EntitySnapshot:
    kind: str
    name: str
    role: str
    country: str = ""


@dataclass(frozen=True)
class ReportSnapshot:
    """One report version as a reader may see it, with its provenance."""

    report_id: str
    version: int
    title: str
    summary: str
    category: str
    classification: str
    rel_to: tuple[str, ...]
    orcon: bool
    tlp: str
    status: str
    source_reliability: str
    info_credibility: int
    details: dict[str, Any]
    created: datetime
    modified: datetime
    origin: str
    origin_name: str
    event_start: date | None = None
    event_end: date | None = None
    entities: tuple[EntitySnapshot, ...] = ()
    signature_status: str = "local-unreleased"
    signed_by_key: str = ""
    envelope_digest: str = ""
    received_from: str = ""
    imported_from: str = ""


def node_identity(code: str, name: str) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": SPEC,
        "id": node_identity_id(code),
        "created": DEFINITIONS_CREATED,
        "modified": DEFINITIONS_CREATED,
        "name": name or code.upper(),
        "identity_class": "organization",
        "sectors": ["government-national"],
    }


def marking_id(classification: str, rel_to: Iterable[str], orcon: bool) -> str:
    return derived_id(
        "marking-definition", "marking", classification, ",".join(sorted(rel_to)), orcon
    )


def security_marking(classification: str, rel_to: Iterable[str], orcon: bool) -> dict[str, Any]:
    tokens = sorted(rel_to)
    banner = f"{classification} // REL TO {', '.join(t.upper() for t in tokens)}"
    if orcon:
        banner += " // ORCON"
    return {
        "type": "marking-definition",
        "spec_version": SPEC,
        "id": marking_id(classification, tokens, orcon),
        "created": DEFINITIONS_CREATED,
        "name": banner,
        "extensions": {
            EXT_MARKING: {
                "extension_type": "property-extension",
                "classification": classification,
                "rel_to": tokens,
                "orcon": orcon,
                "banner": banner,
            }
        },
    }


class _Builder:
    """Collects the objects of one report version; every object carries the same markings."""

    def __init__(self, snap: ReportSnapshot) -> None:
        self.snap = snap
        self.created = stix_time(snap.created)
        self.modified = stix_time(max(snap.modified, snap.created))
        self.markings = [
            TLP2_MARKINGS[snap.tlp],
            marking_id(snap.classification, snap.rel_to, snap.orcon),
        ]
        self.producer = node_identity_id(snap.origin)
        self.objects: dict[str, dict[str, Any]] = {}
        self.located: set[tuple[str, str]] = set()

    def common(self, type_name: str, object_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": type_name,
            "spec_version": SPEC,
            "id": object_id,
            "created_by_ref": self.producer,
            "created": self.created,
            "modified": self.modified,
        }
        if self.snap.status == "withdrawn":
            body["revoked"] = True
        body["object_marking_refs"] = self.markings
        return body

    def add(self, body: dict[str, Any]) -> str:
        self.objects[body["id"]] = body
        return str(body["id"])

    def location(self, country: str) -> str:
        object_id = derived_id("location", self.snap.report_id, "country", country)
        if object_id not in self.objects:
            self.add({**self.common("location", object_id), "name": country, "country": country})
        return object_id

    def relationship(self, source: str, verb: str, target: str) -> None:
        object_id = derived_id("relationship", self.snap.report_id, source, verb, target)
        self.add(
            {
                **self.common("relationship", object_id),
                "relationship_type": verb,
                "source_ref": source,
                "target_ref": target,
            }
        )

    def identity(self, kind: str, name: str, country: str, address: str | None = None) -> str:
        object_id = derived_id("identity", self.snap.report_id, kind, name.casefold(), country)
        if object_id not in self.objects:
            body = {
                **self.common("identity", object_id),
                "name": name,
                "identity_class": "individual" if kind == "person" else "organization",
            }
            if address:
                body["contact_information"] = address
            self.add(body)
        if country and (object_id, country) not in self.located:
            self.located.add((object_id, country))
            self.relationship(object_id, "located-at", self.location(country))
        return object_id

    def party(self, party: Any) -> str | None:
        if not isinstance(party, dict) or not party.get("name"):
            return None
        return self.identity(
            "organisation", party["name"], party.get("country") or "", party.get("address")
        )


def _chip_uses(chips: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in chip.items() if k in ("model", "quantity")} for chip in chips or []]


def _diversion_extension(b: _Builder, details: dict[str, Any]) -> dict[str, Any]:
    ext: dict[str, Any] = {
        "extension_type": "property-extension",
        "items": [
            {
                "model": item["model"],
                "quantity": item["quantity"],
                **({"serials": item["serials"]} if item.get("serials") else {}),
            }
            for item in details.get("items") or []
        ],
    }
    for key in ("consignee", "declared_end_user", "suspected_end_user"):
        ref = b.party(details.get(key))
        if ref:
            ext[f"{key}_ref"] = ref
    intermediaries = []
    for party in details.get("intermediaries") or []:
        ref = b.party(party)
        if ref:
            intermediaries.append({"identity_ref": ref, "role": party.get("role") or "other"})
    if intermediaries:
        ext["intermediaries"] = intermediaries
    for key in ("route", "red_flags"):
        if details.get(key):
            ext[key] = list(details[key])
    for key in ("value_usd", "eccn", "shipment_ref"):
        if details.get(key) is not None:
            ext[key] = details[key]
    if details.get("eccn"):
        ext["eccn_verdict"] = f"ECCN {details['eccn']} as assessed by the origin node"
    return ext


def _subject(b: _Builder) -> str:
    snap = b.snap
    type_name, ext_id = CATEGORY_TYPES[snap.category]
    object_id = derived_id(type_name, snap.report_id, "subject")
    details = snap.details
    body = {**b.common(type_name, object_id), "name": snap.title}
    if snap.category == "chip_diversion":
        body["description"] = snap.summary
        body["extensions"] = {ext_id: _diversion_extension(b, details)}
        subject = b.add(body)
        for country in details.get("route") or []:
            b.relationship(subject, "related-to", b.location(country))
        return subject
    body["extensions"] = {ext_id: {"extension_type": "new-sdo"}}
    if snap.category == "military_ai":
        body["developer_ref"] = b.party(details.get("organisation"))
        body["capability"] = details["capability"]
        if details.get("training_compute_flop"):
            body["training_compute_flop"] = details["training_compute_flop"]
        if details.get("chips_used"):
            body["chips_used"] = _chip_uses(details["chips_used"])
    elif snap.category == "cloud_compute":
        body["provider_ref"] = b.party(details.get("provider"))
        body["customer_ref"] = b.party(details.get("customer"))
        if details.get("chips"):
            body["chips"] = _chip_uses(details["chips"])
        if details.get("gpu_hours") is not None:
            body["gpu_hours"] = details["gpu_hours"]
    else:
        ref = b.party(details.get("organisation"))
        if ref:
            body["organisation_ref"] = ref
        if details.get("description"):
            body["description"] = details["description"]
    if details.get("red_flags"):
        body["red_flags"] = list(details["red_flags"])
    return b.add(body)


def report_objects(snap: ReportSnapshot) -> list[dict[str, Any]]:
    """The STIX objects of one report version: the `report`, its subject, parties as identities,
    countries as locations, and the relationships between them (shared definitions excluded)."""
    b = _Builder(snap)
    subject = _subject(b)
    roles = []
    for entity in snap.entities:
        role: dict[str, Any] = {"kind": entity.kind, "role": entity.role, "name": entity.name}
        if entity.country:
            role["country"] = entity.country
        ref: str | None = None
        if entity.kind in ("person", "organisation"):
            ref = b.identity(entity.kind, entity.name, entity.country)
        elif entity.country:  # a STIX location needs a country (or region, or coordinates)
            ref = derived_id(
                "location", snap.report_id, entity.kind, entity.name.casefold(), entity.country
            )
            place: dict[str, Any] = {
                **b.common("location", ref),
                "name": entity.name,
                "country": entity.country,
            }
            if entity.kind == "address":
                place["street_address"] = entity.name
            b.add(place)
        if ref:
            role["ref"] = ref
            b.relationship(subject, "related-to", ref)
        roles.append(role)
    provenance: dict[str, Any] = {
        "extension_type": "property-extension",
        "category": snap.category,
        "status": snap.status,
        "local_version": snap.version,
        "source_reliability": snap.source_reliability,
        "info_credibility": snap.info_credibility,
        "origin_node": snap.origin,
        "signature_status": snap.signature_status,
    }
    for key in ("event_start", "event_end"):
        value = getattr(snap, key)
        if value:
            provenance[key] = value.isoformat()
    if roles:
        provenance["entity_roles"] = roles
    for key in ("signed_by_key", "envelope_digest", "received_from", "imported_from"):
        if getattr(snap, key):
            provenance[key] = getattr(snap, key)
    refs = [subject, *[i for i in b.objects if i != subject]]
    report = {
        **b.common("report", f"report--{snap.report_id}"),
        "name": snap.title,
        "description": snap.summary,
        "report_types": ["threat-report"],
        "published": b.modified,
        "object_refs": refs,
        "extensions": {EXT_REPORT: provenance},
    }
    return [report, *b.objects.values()]


def shared_objects(
    markings: Iterable[tuple[str, tuple[str, ...], bool]], nodes: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Definitions a bundle needs beside its report objects: our extension definitions and their
    author, the producers' identities and our security markings (the TLP 2.0 ones by id only)."""
    out = [definitions_author(), *extension_definitions()]
    out += [node_identity(code, name) for code, name in sorted(set(nodes))]
    out += [security_marking(c, r, o) for c, r, o in sorted(set(markings))]
    return out


def case_grouping(
    *,
    case_id: int,
    title: str,
    classification: str,
    rel_to: tuple[str, ...],
    tlp: str,
    node: str,
    created: datetime,
    modified: datetime,
    report_refs: list[str],
    score: dict[str, Any] | None,
    origins: list[str],
    countries: list[str],
) -> dict[str, Any]:
    """A case as a STIX `grouping` of its reports with the risk score as an extension."""
    ext: dict[str, Any] = {"extension_type": "property-extension", "case_number": case_id}
    if score:
        ext["risk_score"] = score["score"]
        ext["baseline"] = score["baseline"]
        ext["contributions"] = [
            {"feature": c["feature"], "contribution": c["contribution"]}
            for c in score["contributions"]
        ]
    if origins:
        ext["origins"] = origins
    if countries:
        ext["countries"] = countries
    return {
        "type": "grouping",
        "spec_version": SPEC,
        "id": derived_id("grouping", node, "case", case_id),
        "created_by_ref": node_identity_id(node),
        "created": stix_time(created),
        "modified": stix_time(max(created, modified)),
        "name": title,
        "context": "suspicious-activity",
        "object_refs": report_refs,
        "object_marking_refs": [TLP2_MARKINGS[tlp], marking_id(classification, rel_to, False)],
        "extensions": {EXT_CASE: ext},
    }


@dataclass
class Bundle:
    objects: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, bundle_key: str) -> dict[str, Any]:
        return {"type": "bundle", "id": derived_id("bundle", bundle_key), "objects": self.objects}
