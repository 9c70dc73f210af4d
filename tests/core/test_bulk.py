"""`copy_create` writes what `bulk_create` writes, through COPY, against the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.bulk import copy_create
from reports.models import Report, ReportVersion

pytestmark = pytest.mark.django_db
NOW = timezone.now()

# Everything COPY's text format must escape, and what array literals must quote.
AWKWARD = 'tab\there, new\nline, back\\slash, \\N, "quotes", {braces}, comma,  日本語 ✓'


def _report(**overrides: Any) -> Report:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "origin": "uk",
        "current_version": 1,
        "updated_at": NOW,
        "title": AWKWARD[:200],
        "category": "chip_diversion",
        "status": "published",
        "classification": 2,
        "rel_to": ["fvey", "jp"],
        "rel_nodes": ["au", "ca", "jp", "nz", "uk", "us"],
        "tlp": "amber",
        "event_start": date(2026, 9, 1),
        "countries": ["SG", "MY"],
    }
    return Report(**{**fields, **overrides})


def _version(report: Report, **overrides: Any) -> ReportVersion:
    shared = {
        name: getattr(report, name)
        for name in (
            "title",
            "category",
            "status",
            "classification",
            "rel_to",
            "rel_nodes",
            "tlp",
            "event_start",
            "countries",
        )
    }
    fields: dict[str, Any] = {
        "report": report,
        "version": 1,
        "summary": AWKWARD,
        "source_reliability": "B",
        "info_credibility": 2,
        "details": {"route": ["US", "SG"], "note": AWKWARD, "nested": {"n": [1, None, True]}},
        **shared,
    }
    return ReportVersion(**{**fields, **overrides})


def _stored(model: type[Any], pk: Any) -> dict[str, Any]:
    """The row as the database holds it, without its id and insert time."""
    row = dict(model.objects.filter(pk=pk).values().get())
    del row["id"], row["created_at"]
    return row


def test_rows_read_back_as_bulk_create_writes_them() -> None:
    by_copy = [_report(), _report(rel_to=[AWKWARD[:8]], countries=[])]
    by_insert = [_report(rel_to=r.rel_to, countries=r.countries) for r in by_copy]
    copy_create(by_copy)
    Report.objects.bulk_create(by_insert)

    for copied, inserted in zip(by_copy, by_insert, strict=True):
        stored = _stored(Report, copied.pk)
        assert stored == _stored(Report, inserted.pk)
        assert stored["title"] == AWKWARD[:200]
        assert stored["rel_to"] == copied.rel_to
        assert Report.objects.get(pk=copied.pk).created_at is not None


def test_generated_ids_are_set_and_foreign_keys_follow_objects_saved_meanwhile() -> None:
    report = _report()
    versions = [_version(report, version=n) for n in (1, 2, 3)]  # built before report is stored
    copy_create([report])
    copy_create(versions)

    ids = [v.pk for v in versions]
    assert None not in ids
    assert len(set(ids)) == 3
    assert all(not v._state.adding for v in versions)
    stored = list(ReportVersion.objects.filter(report=report).order_by("version"))
    assert [v.pk for v in stored] == ids
    assert stored[0].summary == AWKWARD
    assert stored[0].details == versions[0].details
    assert stored[0].created_at is not None
    # The sequence moved on: an ordinary insert afterwards gets an id of its own.
    later = _version(report, version=4)
    later.save()
    assert later.pk not in ids


def test_a_constraint_violation_is_an_integrity_error_and_writes_nothing() -> None:
    report = _report()
    copy_create([report])
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_create([_version(report, version=1), _version(report, version=1)])
    assert not ReportVersion.objects.filter(report=report).exists()

    with pytest.raises(IntegrityError), transaction.atomic():
        copy_create([_report(id=report.id)])
    assert Report.objects.filter(pk=report.pk).count() == 1


def test_rows_with_an_id_already_given_are_refused() -> None:
    report = _report()
    copy_create([report])
    with pytest.raises(ValueError, match="id already set"):
        copy_create([_version(report, id=10**9)])
    assert not ReportVersion.objects.exists()
