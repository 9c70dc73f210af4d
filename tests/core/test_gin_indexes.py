"""A GIN index that a write path probes right after writing to it keeps no pending list: with
one, each lookup walked the unmerged list (the scoring batch's neighbourhood probe took 0.55 s
instead of 30 ms). The entity-name trigram index has the same setting from its migration
(search 0004); the test database is built from the models, where only this one is declared."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _options(index: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(c.reloptions, '{}') FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
            "WHERE c.relname = %s AND a.amname = 'gin'",
            [index],
        )
        row = cursor.fetchone()
    assert row is not None, f"no GIN index {index}"
    return list(row[0])


def test_the_case_members_keys_index_has_no_pending_list() -> None:
    assert "fastupdate=off" in _options("casemember_keys")
