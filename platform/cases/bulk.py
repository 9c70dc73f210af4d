"""`copy_update`: the set-based companion of `core.bulk.copy_create` for the scoring worker.

The changed columns of many rows go to a temporary table through COPY, then one
`UPDATE ... FROM` writes them: one statement for a batch, where `bulk_update` builds a
`CASE WHEN` per column and row.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from typing import Any

from django.db import connections, router
from django.db.models import Model

_names = count()


def copy_update(objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write `fields` of `objs` (saved rows of one model) in one UPDATE; returns rows updated."""
    if not objs:
        return 0
    model = type(objs[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk: Any = meta.pk
    columns: list[Any] = [meta.get_field(name) for name in fields]
    temp = f"copy_update_{next(_names)}"
    definitions = ", ".join(
        [f"{quote(pk.column)} {pk.rel_db_type(connection)}"]
        + [f"{quote(f.column)} {f.db_type(connection)}" for f in columns]
    )
    names = [pk.column, *(f.column for f in columns)]
    assignments = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE {temp} ({definitions}) ON COMMIT DROP")
        statement = f"COPY {temp} ({', '.join(quote(c) for c in names)}) FROM STDIN"
        with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for obj in objs:
                copy.write_row(
                    [pk.get_db_prep_save(obj.pk, connection)]
                    + [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns]
                )
        # Only identifiers from the model's metadata are interpolated, never values.
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} t SET {assignments} FROM {temp} s "  # noqa: S608
            f"WHERE t.{quote(pk.column)} = s.{quote(pk.column)}"
        )
        updated = cursor.rowcount
        cursor.execute(f"DROP TABLE {temp}")
    return updated
