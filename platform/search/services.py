"""Writes for search: rebuild the search documents of reports whose versions were written.

Runs as a `reports.services.VERSION_HOOKS` hook, inside the transaction that wrote the versions,
so a report is searchable exactly when its version is committed. The document is built by one
SQL statement from the stored current version (title, summary, details, entity links), the same
way for an analyst's edit, a received partner batch and a bulk reindex.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.db import connection

from reports.models import ReportVersion

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

# Built from the constant fragments above only; the report ids are a bound parameter.
REFRESH_SQL = f"""
INSERT INTO search_searchdocument (report_id, document, identifiers)
SELECT r.id,
       setweight(to_tsvector('simple', coalesce(v.title, '')), 'A')
       || setweight(to_tsvector('simple', coalesce(names.text, '')), 'A')
       || setweight(to_tsvector('simple', array_to_string({_IDENTIFIERS}, ' ')), 'B')
       || setweight(to_tsvector('simple', coalesce(v.summary, '') || ' ' || {_DETAILS_TEXT}), 'C')
       || setweight(to_tsvector('simple', coalesce(v.change_note, '')), 'D'),
       {_IDENTIFIERS}
FROM reports_report r
JOIN reports_reportversion v ON v.report_id = r.id AND v.version = r.current_version
LEFT JOIN LATERAL (
  SELECT string_agg(e.name, ' ') AS text
  FROM reports_reportentity l JOIN reports_entity e ON e.id = l.entity_id
  WHERE l.version_id = v.id
) AS names ON true
WHERE r.id = ANY(%s)
ON CONFLICT (report_id) DO UPDATE
  SET document = EXCLUDED.document, identifiers = EXCLUDED.identifiers
"""  # noqa: S608

# Words of those documents into the lexicon (in order, so concurrent writers never deadlock).
LEXICON_SQL = """
INSERT INTO search_searchterm (term)
SELECT DISTINCT w.lexeme
FROM search_searchdocument d, unnest(d.document) AS w
WHERE d.report_id = ANY(%s) AND length(w.lexeme) BETWEEN 3 AND 100 AND w.lexeme !~ '^[0-9]+$'
ORDER BY 1
ON CONFLICT DO NOTHING
"""


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


def reindex_all(batch: int = 20_000) -> int:
    """Every report's document, in batches (after a restore, or the first migration)."""
    from reports.models import Report

    done = 0
    ids = list(Report.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        done += refresh_documents(ids[start : start + batch])
    return done
