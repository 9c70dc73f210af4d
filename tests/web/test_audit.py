# ruff: noqa: S608 - the SQL names only this module's constants
"""The audit log is append-only (a trigger refuses UPDATE and DELETE) and hash-chained; the
auditor's page verifies the chain and shows where a tampered log breaks."""

from __future__ import annotations

import hashlib
import hmac
import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction

from accounts.models import Role
from audit import guard
from audit.models import GENESIS, AuditEntry
from audit.selectors import verify_chain
from audit.services import canonical, record

from .conftest import html


def tamper(sql: str, params: list[Any]) -> None:
    """Change the log as a database superuser would: with the guard switched off."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {guard.TABLE} DISABLE TRIGGER {guard.TRIGGER}")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {guard.TABLE} ENABLE TRIGGER {guard.TRIGGER}")


def test_entries_chain_each_to_the_one_before(db: Any) -> None:
    first = record("alice", "auth.sign_in", "alice", {"ip": "127.0.0.1"})
    second = record("bob", "report.view", "r-1", {"classification": "SECRET"})
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash
    stored = AuditEntry.objects.get(pk=second.pk)
    content = canonical(
        seq=2,
        at=stored.at,
        actor="bob",
        actor_id=None,
        action="report.view",
        target="r-1",
        details={"classification": "SECRET"},
        prev_hash=first.hash,
    )
    # Keyed: an HMAC under the key kept in a file outside the database, then the link.
    key = bytes.fromhex(Path(settings.AUDIT_MAC_KEY_FILE).read_text().strip())
    mac = hmac.new(key, content, hashlib.sha256).hexdigest()
    assert stored.mac == mac
    assert stored.hash == hashlib.sha256(bytes.fromhex(first.hash) + bytes.fromhex(mac)).hexdigest()
    assert verify_chain().intact


def test_the_database_refuses_update_and_delete(db: Any) -> None:
    entry = record("alice", "auth.sign_in", "alice")
    assert guard.installed(connection)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(actor="mallory")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {guard.TABLE}")
    assert AuditEntry.objects.get(pk=entry.pk).actor == "alice"


def test_a_changed_entry_breaks_the_chain_where_it_was_changed(db: Any) -> None:
    for n in range(5):
        record("alice", "report.view", f"r-{n}")
    tamper(f"UPDATE {guard.TABLE} SET target = %s WHERE seq = 3", ["r-innocent"])
    report = verify_chain()
    assert not report.intact
    assert report.first_break is not None
    assert report.first_break.seq == 3
    assert "changed" in report.first_break.reason
    assert [b.seq for b in report.breaks] == [3]  # later links still point at the stored hash


def test_a_removed_entry_breaks_the_chain(db: Any) -> None:
    for n in range(4):
        record("alice", "report.view", f"r-{n}")
    tamper(f"DELETE FROM {guard.TABLE} WHERE seq = 2", [])
    report = verify_chain()
    assert report.first_break is not None
    assert report.first_break.seq == 3
    assert any("gap" in b.reason or "previous-hash" in b.reason for b in report.breaks)


def test_a_rehashed_forgery_without_the_mac_key_is_caught_at_the_entry(db: Any) -> None:
    for n in range(3):
        record("alice", "report.view", f"r-{n}")
    entry = AuditEntry.objects.get(seq=2)
    entry.target = "forged"
    from audit.services import entry_hash

    tamper(
        f"UPDATE {guard.TABLE} SET target = %s, hash = %s WHERE seq = 2",
        ["forged", entry_hash(entry, key=b"a guess at the key, not the key" + b"x")],
    )
    report = verify_chain()
    assert report.first_break is not None
    assert report.first_break.seq == 2
    assert "content was changed" in report.first_break.reason


def test_the_auditor_page_shows_an_intact_chain_then_the_break(client_as: Any) -> None:
    auditor = client_as(Role.AUDITOR)
    for n in range(3):
        record("alice", "report.view", f"r-{n}")
    page = html(auditor.get("/audit/"))
    assert "Chain intact" in page
    tamper(f"UPDATE {guard.TABLE} SET details = %s WHERE seq = 2", ['{"x": 1}'])
    response = auditor.get("/audit/")
    text = html(response)
    assert "The chain is broken at entry #2" in text
    assert 'class="broken"' in text


@pytest.mark.parametrize("role", [Role.ANALYST, Role.RELEASER, Role.TRUST_ADMIN])
def test_only_auditors_read_the_log(client_as: Any, role: str) -> None:
    assert client_as(role).get("/audit/").status_code == 403


def test_publishing_and_viewing_classified_reports_are_audited(
    client_as: Any, make_report: Any
) -> None:
    secret = make_report(classification="SECRET")
    official = make_report(classification="OFFICIAL", tlp="green")
    publish = AuditEntry.objects.filter(action="report.publish").order_by("seq")
    assert [e.target for e in publish] == [str(secret.report_id), str(official.report_id)]
    reader = client_as(Role.ANALYST, "SECRET")
    reader.get(f"/reports/{secret.report_id}/")
    reader.get(f"/reports/{official.report_id}/")
    views = AuditEntry.objects.filter(action="report.view")
    assert [(e.target, e.details["classification"]) for e in views] == [
        (str(secret.report_id), "SECRET")
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_chain_linear() -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                record(f"worker-{n}", "test.concurrent", str(i))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert AuditEntry.objects.count() == 40
    assert verify_chain().intact
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 41))
