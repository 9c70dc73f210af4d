"""Token rarity across this node's own names and the active screening list, for the linkage:
"Technology" or "Logistics" count for little because most names here have them.

Built from the entity tables (one grouped query: each distinct name with the number of report
versions naming it) and cached per process; rebuilt when names were added and the cache is a
minute old (at once while the node is small, where a rebuild costs milliseconds)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from django.db import connection

from riskscore.linkage import NameStats
from riskscore.linkage.records import address_key

from .models import ScreeningEntry, ScreeningList

PARTY_ROLES = ("consignee", "end_user", "intermediary", "customer", "provider", "developer",
               "subject")  # fmt: skip
SMALL = 10_000  # entities: below this, rebuild whenever a name was added
MAX_AGE_S = 60.0

_lock = threading.Lock()
_cache: dict[str, object] = {"stats": None, "mark": None, "at": 0.0}


def _mark() -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0), count(*) FROM reports_entity")
        top, count = cursor.fetchone()
    active = ScreeningList.objects.filter(active=True).values_list("pk", flat=True).first()
    return int(top), int(count), int(active or 0)


def _repeat(rows: list[tuple[str, str, int]]) -> Iterator[tuple[str, str]]:
    for name, country, times in rows:
        for _ in range(times):
            yield name, country


def build_name_stats() -> NameStats:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.name, e.country, count(*) FROM reports_reportentity l "
            "JOIN reports_entity e ON e.id = l.entity_id "
            "WHERE e.kind = 'organisation' AND l.role = ANY(%s) GROUP BY e.name, e.country",
            [list(PARTY_ROLES)],
        )
        names = cursor.fetchall()
        cursor.execute(
            "SELECT e.name, e.country, count(*) FROM reports_reportentity l "
            "JOIN reports_entity e ON e.id = l.entity_id WHERE e.kind = 'address' "
            "GROUP BY e.name, e.country"
        )
        addresses = cursor.fetchall()
    listed: list[str] = []
    for data in ScreeningEntry.objects.filter(screening_list__active=True).values_list(
        "data", flat=True
    ):
        if isinstance(data, dict):
            listed.extend(str(n) for n in [data.get("name"), *(data.get("alt_names") or [])] if n)
    return NameStats.from_names(
        [*listed, *(name for name, _ in _repeat(names))],
        [key for key in (address_key(a, c or "") for a, c in _repeat(addresses)) if key],
    )


def name_stats() -> NameStats:
    mark = _mark()
    now = time.monotonic()
    with _lock:
        stats, seen, at = _cache["stats"], _cache["mark"], float(_cache["at"])  # type: ignore[arg-type]
    fresh = seen == mark or (mark[1] >= SMALL and now - at < MAX_AGE_S)
    if isinstance(stats, NameStats) and fresh:
        return stats
    stats = build_name_stats()
    with _lock:
        _cache.update(stats=stats, mark=mark, at=now)
    return stats
