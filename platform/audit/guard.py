"""The database-level guard that makes the audit log append-only: triggers refuse every UPDATE
and DELETE of an audit entry and every TRUNCATE of the table, whoever connects. (A table owner
can still disable triggers: that is why the application connects as a role that owns nothing,
`audit.roles`, and why the chain head is anchored at partners.)"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditentry"
FUNCTION = "audit_entry_is_append_only"
TRIGGER = "audit_entry_append_only"
TRUNCATE_TRIGGER = "audit_entry_no_truncate"

INSTALL_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE};
CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {TABLE};
CREATE TRIGGER {TRUNCATE_TRIGGER} BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}();
"""

REMOVE_SQL = f"""
DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER} ON {TABLE};
DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE};
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


def install(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        cursor.execute(INSTALL_SQL)


def installed(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal", [TRIGGER])
        return cursor.fetchone() is not None
