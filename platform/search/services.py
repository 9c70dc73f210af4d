"""Writes for search: rebuild the search documents of reports whose versions were written.

Runs as a `reports.services.VERSION_HOOKS` hook, inside the transaction that wrote the versions,
so a report is searchable exactly when its version is committed. The document is built by one
SQL statement from the stored current version (title, summary, details, entity links), the same
way for an analyst's edit, a received partner batch and a bulk reindex.

A full rebuild (`reindex_all`, the `reindex_search` command) walks the reports by id range, one
batch per transaction, so one statement never holds a million rows and progress is visible.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence

from django.db import connection, models, transaction

from reports.models import ReportVersion

from .models import SearchDocument, SearchTerm

# Serials and shipment references of every category's details, upper-cased.
_IDENTIFIERS = """
ARRAY(
  SELECT DISTINCT upper(x) FROM (
    SELECT jsonb_array_elements_text(jsonb_path_query_array(v.details, '$.items[*].serials[*]'))
    UNION ALL SELECT v.details->>'shipment_ref'
  ) AS found(x)
  WHERE x IS NOT NULL AND x <> '' AND length(x) <= 100
)
"""

# Free text of the details beside party names (those come from the entity links).
_DETAILS_TEXT = """
concat_ws(' ', v.details->>'capability', v.details->>'description',
          v.details#>>'{provider,name}', v.details#>>'{customer,name}',
          (SELECT string_agg(c->>'model', ' ')
             FROM jsonb_array_elements(coalesce(v.details->'items', v.details->'chips_used',
                                                v.details->'chips', '[]'::jsonb)) AS c))
"""

# Built from the constant fragments above only; `{reports}` is a constant condition on r.id
# whose values are bound parameters.
_REFRESH_TEMPLATE = f"""
INSERT INTO search_searchdocument (report_id, document, head, identifiers, updated_at)
SELECT r.id,
       setweight(head.vector, 'A') || setweight(serials.vector, 'B')
       || setweight(to_tsvector('simple', coalesce(v.summary, '') || ' ' || {_DETAILS_TEXT}), 'C')
       || setweight(to_tsvector('simple', coalesce(v.change_note, '')), 'D'),
       head.vector || serials.vector,
       ids.found,
       r.updated_at
FROM reports_report r
JOIN reports_reportversion v ON v.report_id = r.id AND v.version = r.current_version
LEFT JOIN LATERAL (
  SELECT string_agg(e.name, ' ') AS text
  FROM reports_reportentity l JOIN reports_entity e ON e.id = l.entity_id
  WHERE l.version_id = v.id
) AS names ON true
CROSS JOIN LATERAL (
  SELECT setweight(to_tsvector('simple', coalesce(v.title, '')), 'A')
         || to_tsvector('simple', coalesce(names.text, ''))
) AS head(vector)
CROSS JOIN LATERAL (SELECT {_IDENTIFIERS}) AS ids(found)
CROSS JOIN LATERAL (
  SELECT to_tsvector('simple', array_to_string(ids.found, ' '))
) AS serials(vector)
WHERE {{reports}}
ON CONFLICT (report_id) DO UPDATE
  SET document = EXCLUDED.document, head = EXCLUDED.head, identifiers = EXCLUDED.identifiers,
      updated_at = EXCLUDED.updated_at
"""  # noqa: S608

# Words of those documents into the lexicon (in order, so concurrent writers never deadlock).
_LEXICON_TEMPLATE = """
INSERT INTO search_searchterm (term)
SELECT DISTINCT w.lexeme
FROM search_searchdocument d, unnest(d.document) AS w
WHERE {reports} AND length(w.lexeme) BETWEEN 3 AND 100 AND w.lexeme !~ '[0-9]'
ORDER BY 1
ON CONFLICT DO NOTHING
"""

REFRESH_SQL = _REFRESH_TEMPLATE.replace("{reports}", "r.id = ANY(%s)")
LEXICON_SQL = _LEXICON_TEMPLATE.replace("{reports}", "d.report_id = ANY(%s)")
# A range of report ids, both ends included (the batches of a full rebuild).
REFRESH_RANGE_SQL = _REFRESH_TEMPLATE.replace("{reports}", "r.id BETWEEN %s AND %s")
LEXICON_RANGE_SQL = _LEXICON_TEMPLATE.replace("{reports}", "d.report_id BETWEEN %s AND %s")

# What the documents are built from; analysed first, because after a bulk COPY or a restore
# they have no statistics and the planner would scan every version for each batch.
_SOURCE_TABLES = ("reports_report", "reports_reportversion", "reports_reportentity")


def refresh_documents(report_ids: Iterable[uuid.UUID]) -> int:
    """Rebuild the search documents of these reports from their current versions."""
    ids = sorted({str(report_id) for report_id in report_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(REFRESH_SQL, [ids])
        count = cursor.rowcount
        cursor.execute(LEXICON_SQL, [ids])
    return count


def index_versions(versions: Sequence[ReportVersion]) -> None:
    """VERSION_HOOKS entry: the reports these versions belong to are searchable as they are now."""
    refresh_documents(version.report_id for version in versions)


def reindex_all(
    batch: int = 20_000,
    progress: Callable[[int], None] | None = None,
    *,
    rebuild_indexes: bool = False,
) -> int:
    """Every report's document, `batch` reports per statement and transaction, in id order
    (after a bulk load, a restore, or the first migration); `progress` gets the running count.

    With `rebuild_indexes` the GIN indexes of the documents and the lexicon are dropped first
    and built once at the end, which is much cheaper than maintaining them row by row; search
    works meanwhile, only slower. A rebuild that stopped half-way is finished by running it again.
    """
    _analyze(_SOURCE_TABLES)
    if rebuild_indexes:
        _drop_indexes()
    done = 0
    after: uuid.UUID | None = None
    while (bounds := _next_range(after, batch)) is not None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(REFRESH_RANGE_SQL, list(bounds))
            done += cursor.rowcount
            cursor.execute(LEXICON_RANGE_SQL, list(bounds))
        after = bounds[1]
        if progress is not None:
            progress(done)
    if rebuild_indexes:
        _create_missing_indexes()
    _analyze((SearchDocument._meta.db_table, SearchTerm._meta.db_table))
    return done


def _next_range(after: uuid.UUID | None, batch: int) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The first and last of the next `batch` report ids after `after` (None: no more)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH b AS (SELECT id FROM reports_report WHERE %s::uuid IS NULL OR id > %s "
            "ORDER BY id LIMIT %s) "
            "SELECT (SELECT id FROM b ORDER BY id LIMIT 1), "
            "(SELECT id FROM b ORDER BY id DESC LIMIT 1)",
            [after, after, batch],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else (row[0], row[1])


def _search_indexes() -> list[tuple[type[models.Model], models.Index]]:
    return [
        (model, index) for model in (SearchDocument, SearchTerm) for index in model._meta.indexes
    ]


def _drop_indexes() -> None:
    with connection.cursor() as cursor:
        for _, index in _search_indexes():
            cursor.execute(f'DROP INDEX IF EXISTS "{index.name}"')


def _create_missing_indexes() -> None:
    """The models' own index definitions, so the rebuilt indexes are the migrated ones; also
    repairs a rebuild that stopped between dropping and building them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        present = {row[0] for row in cursor.fetchall()}
        missing = [(m, index) for m, index in _search_indexes() if index.name not in present]
        if not missing:
            return
        # Deferred foreign-key checks of an enclosing transaction would refuse CREATE INDEX.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        with connection.schema_editor() as editor:
            for model, index in missing:
                editor.add_index(model, index)
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _analyze(tables: Iterable[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'ANALYZE "{table}"')
