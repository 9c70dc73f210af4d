"""Two database roles in production: the owner (runs migrations, owns every table) and the
application role (what web, worker and beat connect as), which may only INSERT and SELECT on
the audit log. A table owner can disable triggers; a role that owns nothing cannot, so the
append-only rule holds against a compromised application.

`grant_application_role` is run by the owner after each migration (`manage.py
grant_app_role ROLE`, README "Production database roles")."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

from .guard import TABLE


def grant_application_role(connection: BaseDatabaseWrapper, role: str) -> None:
    """Give `role` what the application needs: full DML on every table but the audit log,
    INSERT and SELECT there, sequences; never ownership, TRUNCATE or DDL."""
    ident = sql.Identifier(role)
    table = sql.Identifier(TABLE)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            ident
        ),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(
            ident
        ),
        sql.SQL("REVOKE ALL ON {} FROM {}").format(table, ident),
        sql.SQL("GRANT SELECT, INSERT ON {} TO {}").format(table, ident),
        sql.SQL("REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM {}").format(ident),
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.as_string(cursor.connection))
