"""As the application role (created here on the shared PostgreSQL, unique name, dropped at the
end) the audit log can be appended to and read, never rewritten, deleted or truncated, and its
guard cannot be switched off."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from audit import guard
from audit.roles import grant_application_role
from audit.selectors import verify_chain
from audit.services import record

REFUSED = (psycopg.errors.InsufficientPrivilege,)


@pytest.fixture
def app_role(transactional_db: Any) -> Iterator[psycopg.Connection[Any]]:
    role = f"audit_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    grant_application_role(connection, role)
    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        dbname=str(db["NAME"]),
        user=role,
        host=str(db["HOST"]),
        port=str(db["PORT"] or 5432),
        autocommit=True,
    )
    try:
        yield conn
    finally:
        conn.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def refused(conn: psycopg.Connection[Any], statement: str) -> bool:
    try:
        conn.execute(statement)
    except REFUSED:
        return True
    return False


def test_the_application_role_appends_and_reads_but_never_rewrites(
    app_role: psycopg.Connection[Any],
) -> None:
    for n in range(3):
        record("alice", "report.view", f"r-{n}")
    table = guard.TABLE
    [(count,)] = app_role.execute(f"SELECT count(*) FROM {table}").fetchall()  # noqa: S608
    assert count == 3
    new_id = f"SELECT max(id) + 1 FROM {table}"  # noqa: S608
    app_role.execute(
        f"INSERT INTO {table} (id, seq, at, actor, action, target, details, prev_hash, hash, mac)"  # noqa: S608
        f" VALUES (({new_id}), 99, now(), 'x', 'probe', '', '{{}}', 'p99', 'h99', '')"
    )
    assert refused(app_role, f"UPDATE {table} SET target = 'forged' WHERE seq = 2")  # noqa: S608
    assert refused(app_role, f"DELETE FROM {table} WHERE seq = 2")  # noqa: S608
    assert refused(app_role, f"TRUNCATE {table}")
    assert refused(app_role, f"ALTER TABLE {table} DISABLE TRIGGER {guard.TRIGGER}")
    assert refused(app_role, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    assert refused(app_role, f"DROP TRIGGER {guard.TRUNCATE_TRIGGER} ON {table}")
    # The three real entries are as written; the probe row is detected as not part of it.
    report = verify_chain()
    assert report.checked == 4
    assert {b.seq for b in report.breaks} == {99}


def test_even_the_owner_cannot_truncate_without_lifting_the_guard(transactional_db: Any) -> None:
    record("alice", "report.view", "r-1")
    truncate = f"TRUNCATE {guard.TABLE}"
    with connection.cursor() as cursor, pytest.raises(Exception, match="TRUNCATE refused"):
        cursor.execute(truncate)
    assert verify_chain().checked == 1
