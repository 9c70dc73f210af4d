"""The same report pushed twice at the same moment (e.g. by push and by a retry), against real
PostgreSQL commits and row locks: stored exactly once, and both senders get an answer."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from federation.models import Envelope, Receipt
from reports.models import ReportVersion

from .partners import FakePartner, batch, results_of


@pytest.mark.django_db(transaction=True)
def test_two_copies_racing_are_stored_once(uk: FakePartner) -> None:
    env = uk.report_envelope()
    bodies = [batch(env), batch(env)]  # two transactions carrying the same envelope
    start = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)

    def push(n: int) -> None:
        try:
            client = Client()
            start.wait(timeout=10)
            answers[n] = uk.post(client, bodies[n])
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    outcomes = sorted(results_of(answer)[0]["result"] for answer in answers)
    assert outcomes == ["accepted", "duplicate"]
    assert Envelope.objects.filter(report_id=env["id"]).count() == 1
    assert ReportVersion.objects.filter(report_id=env["id"]).count() == 1
    assert list(Receipt.objects.values_list("from_partner", flat=True)) == ["uk"]
    assert uk.partner.received_seq == 1


@pytest.mark.django_db(transaction=True)
def test_an_audited_insert_and_a_locked_partner_row_do_not_deadlock(uk: FakePartner) -> None:
    """A key ceremony owes its manifest to every partner (rows whose foreign key is checked at
    commit) and writes its audit entry; meanwhile a worker holds that partner's row and asks
    for the audit chain. With the check at commit, each waited on the other."""
    from django.db import transaction

    from audit.services import record
    from federation.models import ManifestPush, Partner
    from federation.services.manifest_push import queue_manifest_pushes

    partner_locked, errors = threading.Event(), []

    def worker() -> None:
        try:
            with transaction.atomic():
                Partner.objects.select_for_update().get(code="uk")
                partner_locked.set()
                time.sleep(1.0)  # the ceremony reaches its audit entry meanwhile
                record(None, "federation.test", "uk")
        except Exception as exc:  # the deadlock, if any, is the finding
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert partner_locked.wait(timeout=10)
    with transaction.atomic():
        queue_manifest_pushes(7)
        record(None, "manifest.import", "v7")
    thread.join(timeout=60)

    assert errors == []
    assert ManifestPush.objects.get(partner__code="uk").version == 7


@pytest.mark.django_db(transaction=True)
def test_a_release_fanned_out_while_its_partner_is_resumed_is_owed_to_it(
    uk: FakePartner, make_user: Any
) -> None:
    """A release reads the partner as suspended (no row owed) and commits only after the
    resume's reconcile has looked: without the fan-out lock, it was owed to nobody."""
    from django.db import transaction

    from federation.models import Delivery, Partner, PartnerStatus
    from federation.services.partners import set_status
    from reports.services import create_report
    from tests.web.conftest import content

    Partner.objects.filter(code="uk").update(status=PartnerStatus.SUSPENDED)
    releaser = make_user("releaser", "SECRET")
    fanned_out, errors, made = threading.Event(), [], []

    def publish() -> None:
        try:
            with transaction.atomic():
                version = create_report(author=releaser, content=content(), status="published")
                made.append(version.report_id)
                fanned_out.set()
                time.sleep(1.0)  # the resume runs meanwhile
        except Exception as exc:  # what went wrong in the thread is the finding
            errors.append(exc)
            fanned_out.set()
        finally:
            connection.close()

    thread = threading.Thread(target=publish)
    thread.start()
    assert fanned_out.wait(timeout=30)
    with transaction.atomic():
        set_status(Partner.objects.get(code="uk"), PartnerStatus.ACTIVE)
    thread.join(timeout=60)

    assert errors == []
    assert Delivery.objects.filter(partner__code="uk", envelope__report_id=made[0]).count() == 1
