"""The database rule behind "one level per case": a member's (case, classification) must name
a case of that classification. Django has no composite foreign keys, so it is written here;
the migration adds it, and `post_migrate` adds it where tables were made without migrations
(the test database)."""

from __future__ import annotations

from typing import Any

LEVEL_KEY = "casemember_case_level"
ADD_LEVEL_KEY = (
    f"ALTER TABLE cases_casemember ADD CONSTRAINT {LEVEL_KEY} "
    "FOREIGN KEY (case_id, classification) REFERENCES cases_case (id, classification) "
    "ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
)


def ensure_level_key(connection: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", [LEVEL_KEY])
        if cursor.fetchone() is None:
            cursor.execute(ADD_LEVEL_KEY)


def on_post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    ensure_level_key(connections[using])
