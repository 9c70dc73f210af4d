"""Stable case identity: ids survive regrouping, analysts' merges and splits are constraints
every grouping honours, merged ids redirect, one level per case, and the durable queue."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from accounts.models import Role
from cases.models import Case, CaseMember, CaseNote, CaseRedirect, CaseStatus, PendingScoring
from cases.services import (
    add_case_note,
    assign_case,
    drain_pending,
    merge_cases,
    regroup_all,
    set_case_status,
    split_case,
)
from reports.models import Report
from reports.services import revise_report
from tests.cases.factories import OFFICIAL, SECRET, author, content, details, publish

pytestmark = pytest.mark.django_db
__all__ = ["author"]  # a fixture


def case_of(report_id: str) -> Case:
    return Case.objects.get(members__report_id=report_id)


def test_every_new_version_is_pending_in_its_own_transaction(author: Any) -> None:
    a = publish(author, details=details("Orchid Supply Chain Ltd", "P-0001"))
    assert PendingScoring.objects.filter(report_id=a).exists()
    assert drain_pending() == 1
    assert not PendingScoring.objects.exists()
    assert case_of(a).report_count == 1


def test_case_ids_stay_through_regrouping_and_new_reports(author: Any) -> None:
    a = publish(author, details=details("Orchid Supply Chain Ltd", "ID-0001"))
    b = publish(author, details=details("Kestrel Computing LLC", "ID-0002"))
    drain_pending()
    first, second = case_of(a).pk, case_of(b).pk
    c = publish(author, details=details("Vantage Electronics Ltd", "ID-0001"))  # joins a's case
    drain_pending()
    assert case_of(c).pk == first
    regroup_all()
    regroup_all()
    assert (case_of(a).pk, case_of(b).pk, case_of(c).pk) == (first, second, first)
    assert Case.objects.count() == 2


def test_workflow_survives_regrouping(author: Any, make_user: Callable[..., Any]) -> None:
    analyst = make_user(role=Role.ANALYST, clearance="SECRET")
    a = publish(author, details=details("Orchid Supply Chain Ltd", "W-0001"))
    drain_pending()
    case = case_of(a)
    set_case_status(analyst, case.pk, CaseStatus.IN_REVIEW)
    assign_case(analyst, case.pk, analyst.pk)
    add_case_note(analyst, case.pk, "Asked the exporter for the end-user statement.")
    publish(author, details=details("Orchid Supply Chain Ltd", "W-0001"))
    drain_pending()
    regroup_all()
    kept = case_of(a)
    assert kept.pk == case.pk
    assert (kept.status, kept.assignee_id, kept.report_count) == ("in_review", analyst.pk, 2)
    assert CaseNote.objects.filter(case=kept).count() == 1


def test_merge_survives_regrouping_and_the_old_id_redirects(
    author: Any, client_for: Callable[..., APIClient], make_user: Callable[..., Any]
) -> None:
    analyst = make_user(role=Role.ANALYST, clearance="SECRET")
    a = publish(author, details=details("Golden Delta Computing LLC", "M-0001"))
    b = publish(author, details=details("Silverline Trading Pte Ltd", "M-0002"))
    drain_pending()
    into, other = case_of(a).pk, case_of(b).pk
    add_case_note(analyst, other, "Same freight forwarder as the Golden Delta shipment.")
    kept = merge_cases(analyst, [into, other])
    assert kept.pk == into
    regroup_all()
    c = publish(author, details=details("Silverline Trading Pte Ltd", "M-0002"))  # joins b
    drain_pending()
    assert case_of(a).pk == case_of(b).pk == case_of(c).pk == into
    assert CaseNote.objects.filter(case_id=into).count() == 1, "notes follow the merge"
    client = client_for(Role.ANALYST, "SECRET")
    moved = client.get(f"/api/v1/cases/{other}/")
    assert moved.status_code == 301
    assert moved["Location"].endswith(f"/api/v1/cases/{into}/")
    assert client.get(moved["Location"]).json()["merged_from"] == [other]


def test_split_survives_regrouping(author: Any, make_user: Callable[..., Any]) -> None:
    analyst = make_user(role=Role.ANALYST, clearance="SECRET")
    a = publish(author, details=details("Northwind Trading Pte Ltd", "S-0001"))
    b = publish(author, details=details("Northwind Trading Pte Ltd", "S-0002"))
    drain_pending()
    case = case_of(a)
    assert case_of(b).pk == case.pk
    stayed, moved = split_case(analyst, case.pk, [b])
    assert stayed.pk == case.pk
    assert moved.pk != case.pk
    regroup_all()
    publish(author, details=details("Northwind Trading Pte Ltd", "S-0003"))
    drain_pending()
    assert case_of(a).pk == case.pk
    assert case_of(b).pk == moved.pk


def test_a_reclassified_report_moves_to_its_new_level_in_the_same_transaction(
    author: Any,
) -> None:
    a = publish(author, details=details("Tidal Logistics Sdn Bhd", "RC-0001"), markings=SECRET)
    b = publish(author, details=details("Tidal Logistics Sdn Bhd", "RC-0001"), markings=SECRET)
    drain_pending()
    secret_case = case_of(a).pk
    assert case_of(b).pk == secret_case
    revise_report(
        author=author,
        report_id=uuid.UUID(a),
        base_version=1,
        content=content(details=details("Tidal Logistics Sdn Bhd", "RC-0001"), markings=OFFICIAL),
    )
    # Before any worker ran: the report left the SECRET case, whose row describes b only.
    moved = CaseMember.objects.get(report_id=a)
    assert moved.classification == 1
    assert moved.case.classification == 1
    assert moved.case_id != secret_case
    left = Case.objects.get(pk=secret_case)
    assert left.report_count == 1
    assert left.classification == 4
    assert drain_pending() >= 1
    assert drain_pending() == 0, "the queue is quiet after one drain"


def _set_member_level(member: int, level: int) -> None:
    with transaction.atomic():
        CaseMember.objects.filter(pk=member).update(classification=level)
        with connection.cursor() as cursor:  # the key is checked at commit; check it now
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_case_of_two_levels_is_impossible_in_the_database(author: Any) -> None:
    a = publish(author, details=details("Tidal Logistics Sdn Bhd", "DB-0001"), markings=SECRET)
    drain_pending()
    member = CaseMember.objects.get(report_id=a)
    with pytest.raises(IntegrityError):
        _set_member_level(member.pk, 1)


def test_cross_level_merge_is_refused(
    author: Any, client_for: Callable[..., APIClient], make_user: Callable[..., Any]
) -> None:
    low = publish(
        author, details=details("Golden Delta Computing LLC", "X-0001"), markings=OFFICIAL
    )
    high = publish(author, details=details("Golden Delta Computing LLC", "X-0002"), markings=SECRET)
    drain_pending()
    low_case, high_case = case_of(low).pk, case_of(high).pk
    official = client_for(Role.ANALYST, "OFFICIAL")
    hidden = official.post(
        f"/api/v1/cases/{low_case}/merge/", {"cases": [high_case]}, format="json"
    )
    assert hidden.status_code == 404, "a case above the caller's clearance does not exist"
    cleared = client_for(Role.ANALYST, "SECRET")
    refused = cleared.post(
        f"/api/v1/cases/{low_case}/merge/", {"cases": [high_case]}, format="json"
    )
    assert refused.status_code == 400
    assert "different classifications" in refused.json()["cases"][0]
    assert case_of(low).pk != case_of(high).pk
    assert not CaseRedirect.objects.exists()


def test_merge_is_refused_unless_the_caller_sees_every_member(
    author: Any, make_user: Callable[..., Any]
) -> None:
    a = publish(author, details=details("Golden Delta Computing LLC", "V-0001"), markings=OFFICIAL)
    b = publish(author, details=details("Silverline Trading Pte Ltd", "V-0002"), markings=OFFICIAL)
    drain_pending()
    # A report this node may no longer hold (its release narrowed): hidden from every reader.
    Report.objects.filter(pk=b).update(origin="xx", rel_nodes=[])
    analyst = make_user(role=Role.ANALYST, clearance="SECRET")
    with pytest.raises(PermissionDenied) as refused:
        merge_cases(analyst, [case_of(a).pk, case_of(b).pk])
    assert "may not see" in str(refused.value)
    assert case_of(a).pk != case_of(b).pk


def test_auditors_may_read_but_not_change_cases(
    author: Any, client_for: Callable[..., APIClient]
) -> None:
    a = publish(author, details=details("Golden Delta Computing LLC", "AU-0001"))
    drain_pending()
    case = case_of(a).pk
    auditor = client_for(Role.AUDITOR, "SECRET")
    assert auditor.get(f"/api/v1/cases/{case}/").status_code == 200
    refused = auditor.post(f"/api/v1/cases/{case}/status/", {"status": "escalated"}, format="json")
    assert refused.status_code == 403
    assert case_of(a).status == CaseStatus.NEW
