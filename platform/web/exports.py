"""CSV exports of what a list shows, scoped as the list is, with the highest marking of the
rows on the first line (a spreadsheet that leaves the node still says what it holds)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils import timezone

from core.markings import Classification
from core.selectors import this_node

EXPORT_LIMIT = 10_000


def _safe(value: object) -> str:
    """A cell as text; formulas are neutralised so a spreadsheet never runs a shared cell."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_response(
    name: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    levels: Iterable[int],
) -> HttpResponse:
    """A CSV download: marking line, header, rows (at most EXPORT_LIMIT)."""
    rows = list(rows)[:EXPORT_LIMIT]
    found = [int(level) for level in levels]
    highest = Classification(max(found)).name if found else Classification.OFFICIAL.name
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    writer = csv.writer(response)
    node = this_node()
    writer.writerow(
        [f"{highest} (highest classification in this export)", f"exported from {node.code.upper()}"]
    )
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(value) for value in row])
    return response
