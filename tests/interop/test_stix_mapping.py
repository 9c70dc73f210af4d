"""Export every category and a case to STIX 2.1, validate strictly, and import them back."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Role
from cases.models import Case, CaseMember
from cases.services import regroup_all
from interop.models import ImportedObject, ImportedReport
from interop.selectors import case_bundle, report_bundle
from interop.services import import_bundle
from interop.stix.extensions import (
    EXT_CASE,
    EXT_DIVERSION,
    EXT_MARKING,
    EXT_REPORT,
    TLP2_MARKINGS,
)
from interop.stix.imports import BundleError
from reports.details import validate_details
from reports.models import Report, Status

from .conftest import CATEGORY_DETAILS, strict_validation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("category", sorted(CATEGORY_DETAILS))
def test_every_category_exports_strictly_valid_and_imports_back(
    category: str,
    publish: Callable[..., Report],
    make_user: Callable[..., Any],
    schema_dir: Path,
    settings: Any,
) -> None:
    report = publish(category)
    reader = make_user(role=Role.ANALYST, clearance="CONFIDENTIAL")
    bundle = report_bundle(reader, report.pk)
    assert bundle is not None
    errors, warnings = strict_validation(bundle, schema_dir)
    assert errors == []
    assert warnings == []
    by_type = {o["type"] for o in bundle["objects"]}
    assert {"report", "identity", "marking-definition", "extension-definition"} <= by_type
    stix_report = next(o for o in bundle["objects"] if o["type"] == "report")
    assert TLP2_MARKINGS["amber"] in stix_report["object_marking_refs"]
    marking = next(o for o in bundle["objects"] if EXT_MARKING in o.get("extensions", {}))
    assert marking["extensions"][EXT_MARKING] | {"banner": ""} == {
        "extension_type": "property-extension",
        "classification": "CONFIDENTIAL",
        "rel_to": ["fvey", "jp"],
        "orcon": False,
        "banner": "",
    }
    assert stix_report["extensions"][EXT_REPORT]["origin_node"] == settings.NODE_CODE

    # Back in (as drafts of another analyst): the same category, details and markings.
    importer = make_user(role=Role.ANALYST, clearance="SECRET")
    Report.objects.all().delete()
    result = import_bundle(user=importer, data=bundle, source="test upload")
    assert len(result.reports) == 1
    draft = result.reports[0]
    version = draft.versions.get()
    assert (
        draft.status,
        draft.category,
        version.classification,
        sorted(version.rel_to),
        version.tlp,
    ) == (
        Status.DRAFT,
        category,
        3,
        ["fvey", "jp"],
        "amber",
    )
    assert version.details == validate_details(category, CATEGORY_DETAILS[category])
    assert {(link.entity.name, link.role) for link in version.links.all()} >= {
        ("Invented Officer One", "officer")
    }
    assert ImportedReport.objects.get(report=draft).source == "test upload"


def test_reimporting_the_same_bundle_creates_nothing(
    publish: Callable[..., Report], make_user: Callable[..., Any]
) -> None:
    report = publish("military_ai")
    importer = make_user(role=Role.ANALYST, clearance="SECRET")
    bundle = report_bundle(importer, report.pk)
    first = import_bundle(user=importer, data=bundle, source="a")
    counts = (Report.objects.count(), ImportedObject.objects.count())
    again = import_bundle(user=importer, data=copy.deepcopy(bundle), source="a")
    assert len(first.reports) == 1
    assert again.run is None
    assert again.reports == []
    assert (Report.objects.count(), ImportedObject.objects.count()) == counts


def test_a_bad_bundle_is_refused_whole_naming_object_and_field(
    publish: Callable[..., Report], make_user: Callable[..., Any]
) -> None:
    publish("military_ai")
    report = publish("chip_diversion")
    importer = make_user(role=Role.ANALYST, clearance="SECRET")
    bundle = report_bundle(importer, report.pk)
    assert bundle is not None
    incident = next(o for o in bundle["objects"] if o["type"] == "incident")
    incident["extensions"][EXT_DIVERSION]["items"][0]["quantity"] = 0
    before = (Report.objects.count(), ImportedObject.objects.count())
    with pytest.raises(BundleError) as refused:
        import_bundle(user=importer, data=bundle, source="bad")
    assert refused.value.object_id == incident["id"]
    assert refused.value.field == f"extensions.{EXT_DIVERSION}.items.0.quantity"
    assert (Report.objects.count(), ImportedObject.objects.count()) == before


def test_an_object_above_the_importers_clearance_is_refused(
    publish: Callable[..., Report], make_user: Callable[..., Any]
) -> None:
    report = publish("other", classification="SECRET")
    bundle = report_bundle(make_user(role=Role.ANALYST, clearance="SECRET"), report.pk)
    low = make_user(role=Role.ANALYST, clearance="RESTRICTED")
    with pytest.raises(BundleError) as refused:
        import_bundle(user=low, data=bundle, source="x")
    assert refused.value.object_id == f"report--{report.pk}"
    assert "clearance" in refused.value.message


def test_export_is_scoped_to_the_reader(
    publish: Callable[..., Report], make_user: Callable[..., Any]
) -> None:
    secret = publish("military_ai", classification="SECRET")
    assert report_bundle(make_user(clearance="CONFIDENTIAL"), secret.pk) is None
    assert report_bundle(make_user(clearance="SECRET"), secret.pk) is not None


def test_foreign_objects_become_drafts_and_unmapped_ones_are_kept(
    make_user: Callable[..., Any],
) -> None:
    importer = make_user(role=Role.ANALYST, clearance="OFFICIAL")
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "Invented loader hash",
        "pattern": "[file:hashes.'SHA-256' = 'aa']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "object_marking_refs": [TLP2_MARKINGS["green"]],
    }
    note = {
        "type": "note",
        "spec_version": "2.1",
        "id": "note--0a4b7a3c-5d71-4a5e-8f55-1f0a9b2b3c4d",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "content": "seen twice",
        "object_refs": [indicator["id"]],
    }
    result = import_bundle(
        user=importer,
        data={
            "type": "bundle",
            "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": [indicator, note],
        },
        source="partner feed",
    )
    assert [r.category for r in result.reports] == ["other"]
    assert result.reports[0].tlp == "green"
    kept = ImportedObject.objects.get(stix_id=note["id"])
    assert kept.mapped is False
    assert kept.body == note


def test_a_stix_20_object_is_refused(make_user: Callable[..., Any]) -> None:
    old = {
        "type": "malware",
        "id": "malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111",
        "created": "2017-01-27T13:49:53.997Z",
        "modified": "2017-01-27T13:49:53.997Z",
        "name": "Poison Ivy",
        "labels": ["remote-access-trojan"],
    }
    with pytest.raises(BundleError) as refused:
        import_bundle(user=make_user(), data={"objects": [old]}, source="x")
    assert (refused.value.index, refused.value.field) == (0, "spec_version")


def test_a_case_exports_as_a_grouping_of_the_visible_reports(
    publish: Callable[..., Report], make_user: Callable[..., Any], schema_dir: Path
) -> None:
    a = publish("chip_diversion")
    b = publish("chip_diversion", title="Second shipment")
    case = Case.objects.create(
        title="Invented case", category="chip_diversion", classification=3, report_count=2
    )
    for report in (a, b):
        CaseMember.objects.create(case=case, report=report, classification=3)
    bundle = case_bundle(make_user(clearance="CONFIDENTIAL"), case.pk)
    assert bundle is not None
    grouping = next(o for o in bundle["objects"] if o["type"] == "grouping")
    assert sorted(grouping["object_refs"]) == sorted([f"report--{a.pk}", f"report--{b.pk}"])
    assert strict_validation(bundle, schema_dir) == ([], [])
    assert case_bundle(make_user(clearance="RESTRICTED"), case.pk) is None


def test_a_scored_case_exports_its_contributions(
    publish: Callable[..., Report], make_user: Callable[..., Any], schema_dir: Path
) -> None:
    report = publish("chip_diversion")
    regroup_all()
    case = Case.objects.get(members__report=report)
    bundle = case_bundle(make_user(clearance="CONFIDENTIAL"), case.pk)
    assert bundle is not None
    grouping = next(o for o in bundle["objects"] if o["type"] == "grouping")
    exported = grouping["extensions"][EXT_CASE]["contributions"]
    stored = case.scored.contributions
    assert exported == [{"feature": c["feature"], "contribution": c["points"]} for c in stored]
    assert exported
    assert strict_validation(bundle, schema_dir) == ([], [])


def test_received_versions_are_served_by_the_worker_once(make_user: Callable[..., Any]) -> None:
    from interop.models import StixObject
    from interop.services import project_received
    from reports.services import record_received_version

    from .conftest import content

    version = record_received_version(
        report_id=uuid.uuid4(),
        origin="uk",
        version_number=1,
        content=content("military_ai", rel_to=["fvey"]),
        status=Status.PUBLISHED,
    )
    assert not StixObject.objects.filter(
        report=version.report
    ).exists()  # not in the inbox's transaction
    assert project_received([version.pk]) == 1
    served = StixObject.objects.filter(report=version.report)
    report = served.get(stix_type="report").body
    assert report["extensions"][EXT_REPORT]["origin_node"] == "uk"
    assert report["extensions"][EXT_REPORT]["signature_status"] == "verified"
    count = served.count()
    assert project_received([version.pk]) == 0
    assert served.count() == count
