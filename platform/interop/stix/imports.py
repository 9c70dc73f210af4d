"""STIX 2.1 bundles to local report drafts. Plain Python, no Django.

`plan_import` checks every object first and raises BundleError naming the object and the field
at fault; only a bundle that passes whole is mapped. Our own exports map back field for field;
other producers' reports and top-level objects become `other` drafts, and whatever maps to no
report field is kept beside the draft (or with the import) as received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jsonschema import Draft7Validator

from .extensions import (
    CATEGORY_TYPES,
    EXT_DIVERSION,
    EXT_MARKING,
    EXT_REPORT,
    SCHEMAS,
    TLP_BY_MARKING,
)

TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,248}[a-z0-9]$")
ID_PATTERN = re.compile(
    r"^([a-z][a-z0-9-]{0,248}[a-z0-9])--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
TIMESTAMP_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
SCO_TYPES = {
    "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
    "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
    "software", "url", "user-account", "windows-registry-key", "x509-certificate",
}  # fmt: skip
# Other producers' objects that stand on their own as a subject for an analyst to review.
FOREIGN_SUBJECTS = {
    "attack-pattern", "campaign", "course-of-action", "incident", "indicator", "infrastructure",
    "intrusion-set", "malware", "malware-analysis", "threat-actor", "tool", "vulnerability",
}  # fmt: skip
MAX_OBJECTS = 20_000
_VALIDATORS = {ext: Draft7Validator(schema) for ext, schema in SCHEMAS.items()}
_SUBJECT_TYPES = {type_name: category for category, (type_name, _) in CATEGORY_TYPES.items()}


class BundleError(ValueError):
    """A bundle refused whole; names the object (index and id) and the field at fault."""

    def __init__(self, index: int | None, object_id: str, field_name: str, message: str) -> None:
        where = f"objects[{index}]" if index is not None else "bundle"
        if object_id:
            where += f" ({object_id})"
        super().__init__(f"{where}: {field_name}: {message}")
        self.index = index
        self.object_id = object_id
        self.field = field_name
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        return {
            "object_index": self.index,
            "object_id": self.object_id,
            "field": self.field,
            "message": self.message,
        }


def object_version(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


@dataclass
class DraftPlan:
    stix_id: str
    version: str
    content: dict[str, Any]
    mapped_ids: list[str] = field(default_factory=list)
    kept_ids: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    objects: list[dict[str, Any]]
    drafts: list[DraftPlan]
    unmapped_ids: list[str]


def objects_of(data: Any) -> list[dict[str, Any]]:
    """The objects of a bundle or a TAXII envelope."""
    if not isinstance(data, dict):
        raise BundleError(
            None, "", "type", "expected a STIX bundle or a TAXII envelope (an object)"
        )
    if data.get("type") == "bundle":
        bundle_id = data.get("id")
        if (
            not isinstance(bundle_id, str)
            or not bundle_id.startswith("bundle--")
            or not ID_PATTERN.match(bundle_id)
        ):
            raise BundleError(None, "", "id", "a bundle needs an id bundle--<uuid>")
    elif "type" in data:
        raise BundleError(None, "", "type", f"expected 'bundle', got {data.get('type')!r}")
    objects = data.get("objects", [])
    if not isinstance(objects, list):
        raise BundleError(None, "", "objects", "expected a list")
    if len(objects) > MAX_OBJECTS:
        raise BundleError(None, "", "objects", f"at most {MAX_OBJECTS} objects per bundle")
    return objects


def _check_timestamp(index: int, obj: dict[str, Any], name: str, required: bool) -> None:
    value = obj.get(name)
    if value is None:
        if required:
            raise BundleError(index, obj["id"], name, "required")
        return
    if not isinstance(value, str) or not TIMESTAMP_PATTERN.match(value):
        raise BundleError(
            index,
            obj["id"],
            name,
            "expected an RFC 3339 UTC timestamp such as 2026-09-01T12:00:00.000Z",
        )
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise BundleError(
            index, obj["id"], name, f"{value!r} is not a valid date and time"
        ) from None


def check_object(index: int, obj: Any) -> None:
    if not isinstance(obj, dict):
        raise BundleError(index, "", "", "expected an object")
    _check_object(index, obj, str(obj.get("id")))


def _check_object(index: int, obj: dict[str, Any], object_id: str) -> None:
    type_name = obj.get("type")
    if not isinstance(type_name, str) or not TYPE_PATTERN.match(type_name):
        raise BundleError(index, "", "type", "expected a STIX type name")
    match = ID_PATTERN.match(object_id) if isinstance(obj.get("id"), str) else None
    if match is None or match.group(1) != type_name:
        shown = object_id[:120] if isinstance(obj.get("id"), str) else ""
        raise BundleError(index, shown, "id", f"expected {type_name}--<uuid>")
    if type_name in SCO_TYPES:
        if obj.get("spec_version", "2.1") != "2.1":
            raise BundleError(index, object_id, "spec_version", "only STIX 2.1 is accepted")
        return
    if obj.get("spec_version") != "2.1":
        raise BundleError(
            index,
            object_id,
            "spec_version",
            "required and must be '2.1' (STIX 2.0 objects are not accepted)",
        )
    _check_timestamp(index, obj, "created", True)
    if type_name != "marking-definition":
        _check_timestamp(index, obj, "modified", True)
        if obj["modified"] < obj["created"]:
            raise BundleError(index, object_id, "modified", "earlier than created")
    for name in ("object_refs", "object_marking_refs"):
        refs = obj.get(name)
        if refs is not None and (
            not isinstance(refs, list)
            or not all(isinstance(r, str) and ID_PATTERN.match(r) for r in refs)
        ):
            raise BundleError(index, object_id, name, "expected a list of STIX ids")
    extensions = obj.get("extensions", {})
    if not isinstance(extensions, dict):
        raise BundleError(index, object_id, "extensions", "expected an object")
    for ext_id in extensions:
        validator = _VALIDATORS.get(ext_id)
        if validator is None:
            continue
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in error.absolute_path) or "(object)"
            raise BundleError(index, object_id, path, error.message[:300])


class _Mapper:
    def __init__(self, objects: list[dict[str, Any]], node: str) -> None:
        self.by_id = {o["id"]: o for o in objects}
        self.node = node
        self.countries: dict[str, str] = {}
        for o in objects:
            if o["type"] == "relationship" and o.get("relationship_type") == "located-at":
                place = self.by_id.get(o.get("target_ref", ""))
                if place and place.get("country"):
                    self.countries[o.get("source_ref", "")] = place["country"]

    def party(self, ref: Any) -> dict[str, Any] | None:
        ident = self.by_id.get(ref) if isinstance(ref, str) else None
        if not ident or not ident.get("name"):
            return None
        party: dict[str, Any] = {"name": str(ident["name"])[:300]}
        if ident.get("contact_information"):
            party["address"] = str(ident["contact_information"])[:500]
        if ref in self.countries:
            party["country"] = self.countries[ref]
        return party

    def markings(self, obj: dict[str, Any]) -> dict[str, Any]:
        tlp = "amber"
        marking: dict[str, Any] = {
            "classification": "OFFICIAL",
            "rel_to": [self.node],
            "orcon": False,
        }
        for ref in obj.get("object_marking_refs") or []:
            if ref in TLP_BY_MARKING:
                tlp = TLP_BY_MARKING[ref]
            definition = self.by_id.get(ref) or {}
            ours = (definition.get("extensions") or {}).get(EXT_MARKING)
            if ours:
                marking = {k: ours[k] for k in ("classification", "rel_to", "orcon")}
        return {**marking, "tlp": tlp}

    def details(self, category: str, subject: dict[str, Any]) -> dict[str, Any]:
        if category == "chip_diversion":
            ext = subject["extensions"][EXT_DIVERSION]
            details: dict[str, Any] = {"items": ext["items"]}
            for key in ("consignee", "declared_end_user", "suspected_end_user"):
                party = self.party(ext.get(f"{key}_ref"))
                if party:
                    details[key] = party
            details["intermediaries"] = [
                {
                    **(self.party(i["identity_ref"]) or {"name": i["identity_ref"]}),
                    "role": i["role"],
                }
                for i in ext.get("intermediaries") or []
            ]
            for key in ("route", "value_usd", "eccn", "shipment_ref", "red_flags"):
                if key in ext:
                    details[key] = ext[key]
            return details
        if category == "military_ai":
            details = {
                "organisation": self.party(subject.get("developer_ref")),
                "capability": subject.get("capability"),
            }
            for key in ("training_compute_flop", "chips_used", "red_flags"):
                if key in subject:
                    details[key] = subject[key]
            return details
        if category == "cloud_compute":
            details = {
                "provider": self.party(subject.get("provider_ref")),
                "customer": self.party(subject.get("customer_ref")),
            }
            for key in ("chips", "gpu_hours", "red_flags"):
                if key in subject:
                    details[key] = subject[key]
            return details
        details = {}
        party = self.party(subject.get("organisation_ref"))
        if party:
            details["organisation"] = party
        for key in ("description", "red_flags"):
            if key in subject:
                details[key] = subject[key]
        return details

    def subject_category(self, obj: dict[str, Any]) -> str | None:
        """Our category for an object, if it is one of our report subjects."""
        extensions = obj.get("extensions") or {}
        category = _SUBJECT_TYPES.get(obj["type"])
        if category is None:
            return None
        return category if CATEGORY_TYPES[category][1] in extensions else None

    def draft_from_report(self, report: dict[str, Any]) -> DraftPlan:
        refs = [r for r in report.get("object_refs") or [] if r in self.by_id]
        ours = (report.get("extensions") or {}).get(EXT_REPORT)
        category = ours["category"] if ours else "other"
        subject = (
            next(
                (self.by_id[r] for r in refs if self.subject_category(self.by_id[r]) == category),
                None,
            )
            if ours
            else None
        )
        content = self._content(report, category if subject else "other", subject, ours)
        plan = DraftPlan(report["id"], object_version(report), content, mapped_ids=[report["id"]])
        for ref in refs:
            obj = self.by_id[ref]
            # Ours map back field for field; someone else's become kept objects of the draft.
            mapped = subject is not None and obj["type"] in (
                "identity",
                "location",
                "relationship",
                *_SUBJECT_TYPES,
            )
            (plan.mapped_ids if mapped else plan.kept_ids).append(ref)
        return plan

    def draft_from_subject(self, obj: dict[str, Any]) -> DraftPlan:
        category = self.subject_category(obj)
        content = self._content(obj, category or "other", obj if category else None, None)
        return DraftPlan(obj["id"], object_version(obj), content, mapped_ids=[obj["id"]])

    def _content(
        self,
        head: dict[str, Any],
        category: str,
        subject: dict[str, Any] | None,
        ours: dict[str, Any] | None,
    ) -> dict[str, Any]:
        name = str(head.get("name") or f"{head['type']} {head['id']}")
        description = str(head.get("description") or "")
        if subject is not None:
            details = self.details(category, subject)
        else:
            extra = f"Pattern: {head['pattern']}" if head.get("pattern") else ""
            text = "\n".join(
                t for t in (f"Imported {head['type']}: {name}", description, extra) if t
            )
            details = {"description": text[:5000]}
        ours = ours or {}
        return {
            "title": name[:200],
            "summary": (description or name)[:20_000],
            "category": category,
            "markings": self.markings(head),
            "source_reliability": ours.get("source_reliability", "F"),
            "info_credibility": ours.get("info_credibility", 6),
            "details": details,
            "event_start": ours.get("event_start"),
            "event_end": ours.get("event_end"),
            "entities": [
                {k: e[k] for k in ("kind", "name", "role", "country") if k in e}
                for e in ours.get("entity_roles") or []
            ],
        }


def plan_import(data: Any, node: str) -> ImportPlan:
    """Check every object, then map: one draft per report and per top-level subject."""
    objects = objects_of(data)
    for index, obj in enumerate(objects):
        check_object(index, obj)
    mapper = _Mapper(objects, node)
    drafts = [mapper.draft_from_report(o) for o in objects if o["type"] == "report"]
    covered = {i for d in drafts for i in (*d.mapped_ids, *d.kept_ids)}
    for obj in objects:
        if obj["id"] in covered or obj["type"] == "report":
            continue
        if mapper.subject_category(obj) or obj["type"] in FOREIGN_SUBJECTS:
            plan = mapper.draft_from_subject(obj)
            drafts.append(plan)
            covered.add(obj["id"])
    unmapped = list(dict.fromkeys(o["id"] for o in objects if o["id"] not in covered))
    return ImportPlan(objects, drafts, unmapped)
