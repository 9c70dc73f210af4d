"""The active screening list: imported all-or-nothing, indexed once per worker process."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

from django.db import transaction

from riskscore.matching import ScreeningEntry, ScreeningIndex
from riskscore.screening_formats import load_screening_file

from .models import ScreeningEntry as EntryRow
from .models import ScreeningList

_cache: dict[str, Any] = {"list_id": None, "index": None}
_lock = threading.Lock()


def import_list(path: str | Path, name: str | None = None) -> ScreeningList:
    """Parse the whole file first (a malformed file raises ScreeningFormatError naming the line
    and field, and nothing changes), then store and activate it in one transaction."""
    entries = load_screening_file(path)
    layout = "csl-json" if str(path).lower().endswith(".json") else "csv"
    with transaction.atomic():
        row = ScreeningList.objects.create(
            name=name or Path(path).name, layout=layout, entries_count=len(entries)
        )
        EntryRow.objects.bulk_create(
            [EntryRow(screening_list=row, entry_id=e.id, data=_as_json(e)) for e in entries],
            batch_size=2000,
        )
        ScreeningList.objects.filter(active=True).update(active=False)
        ScreeningList.objects.filter(pk=row.pk).update(active=True)
        row.active = True
    return row


def _as_json(entry: ScreeningEntry) -> dict[str, Any]:
    data = dataclasses.asdict(entry)
    data["extra"] = dict(entry.extra)
    return data


def _from_json(data: dict[str, Any]) -> ScreeningEntry:
    return ScreeningEntry.from_dict(data)


def active_index() -> ScreeningIndex | None:
    """The index over the active list, rebuilt only when another list becomes active."""
    active = ScreeningList.objects.filter(active=True).values_list("pk", flat=True).first()
    if active is None:
        return None
    with _lock:
        if _cache["list_id"] == active:
            index: ScreeningIndex = _cache["index"]
            return index
    entries = [
        _from_json(data)
        for data in EntryRow.objects.filter(screening_list_id=active).values_list("data", flat=True)
    ]
    index = ScreeningIndex.build(entries)
    with _lock:
        _cache.update(list_id=active, index=index)
    return index
