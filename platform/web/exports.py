"""CSV exports of what a list shows, scoped as the list is, with the highest marking of the
rows on the first line (a spreadsheet that leaves the node still says what it holds). An export
of classified rows is a read of each of them: it is audited like opening them."""

from __future__ import annotations

import csv
from collections.abc import Sequence

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from audit.services import record_read
from core.markings import Classification
from core.selectors import this_node

EXPORT_LIMIT = 10_000
QUERY_KEPT = 500  # characters of the export's query string kept in its audit entry


def _safe(value: object) -> str:
    """A cell as text; formulas are neutralised so a spreadsheet never runs a shared cell."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_response(
    request: HttpRequest,
    *,
    name: str,
    kind: str,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    levels: Sequence[int],
) -> HttpResponse:
    """A CSV download: marking line, header, rows (at most EXPORT_LIMIT).

    `levels[i]` is the classification of `rows[i]`, whose first cell is its id; when any row
    is above OFFICIAL, one `<kind>.export` audit entry names the classified ids, how many rows
    left and the filters that chose them.
    """
    rows, levels = list(rows)[:EXPORT_LIMIT], [int(level) for level in levels][:EXPORT_LIMIT]
    highest = Classification(max(levels, default=Classification.OFFICIAL))
    record_read(
        request.user,
        kind,
        name,
        highest,
        verb="export",
        rows=len(rows),
        query=request.GET.urlencode()[:QUERY_KEPT],
        ids=[
            str(row[0])
            for row, level in zip(rows, levels, strict=True)
            if level > Classification.OFFICIAL
        ],
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    writer = csv.writer(response)
    node = this_node()
    writer.writerow(
        [
            f"{highest.name} (highest classification in this export)",
            f"exported from {node.code.upper()}",
        ]
    )
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(value) for value in row])
    return response
