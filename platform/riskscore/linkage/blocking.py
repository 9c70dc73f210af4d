"""Blocking: cheap keys so that only reports that could be one case are compared.

Why these keys: a case's reports nearly always share at least one of a serial, a shipment
reference, a distinctive name token or the whole name, an address, or the week, consignee
country and chip model of the event. Generic words and legal forms are never keys (they would
put a large share of all reports in one block). Blocks that are still large (a common stem, a
formation agent's address) are not compared all-pairs: their reports are ordered by event date
and each is compared with its neighbours within a window (sorted neighbourhood), so candidate
pairs grow linearly with reports.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .names import core_tokens
from .records import GENERIC_WORDS, Record, Report, extract

__all__ = ["MAX_SERIAL_KEYS", "blocking_keys", "candidate_pairs", "record_keys"]

MAX_SERIAL_KEYS = 16  # a report listing 10,000 serials gets the 16 with the smallest hashes


def _serial_keys(serials: frozenset[str]) -> list[str]:
    chosen = sorted(serials, key=lambda s: (zlib.crc32(s.encode()), s))[:MAX_SERIAL_KEYS]
    return [f"s:{s}" for s in chosen]


def record_keys(record: Record) -> set[str]:
    """The blocking keys of one extracted record."""
    keys: set[str] = set(_serial_keys(record.serials))
    if record.shipment_ref:
        keys.add(f"r:{record.shipment_ref}")
    for party in (record.party, record.suspected):
        if party is None:
            continue
        for norm in party.normalized:
            tokens = core_tokens(norm)
            if tokens:
                keys.add("n:" + " ".join(sorted(tokens)))
            keys.update(f"t:{t}" for t in tokens if t not in GENERIC_WORDS and len(t) >= 3)
    if record.address_key:
        keys.add(f"a:{record.address_key}")
    if record.day is not None:
        country = record.party.country if record.party and record.party.country else ""
        if not country and record.route:
            country = record.route[-1]
        model = min(record.models) if record.models else ""
        if country or model:
            # two overlapping weekly buckets, so events a few days apart always share one
            keys.add(f"d:{record.day // 7}|{country}|{model}")
            keys.add(f"e:{(record.day + 3) // 7}|{country}|{model}")
    return keys


def blocking_keys(report: Report) -> frozenset[str]:
    """Short strings; two reports that could belong to one case share at least one."""
    return frozenset(record_keys(extract(report)))


def candidate_pairs(
    keys: Sequence[set[str]], day: NDArray[np.int64], full_block: int, window: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Unique pairs (i < j) of rows sharing a key: all pairs in small blocks, date-ordered
    neighbours within ``window`` in large ones."""
    key_ids: dict[str, int] = {}
    block_list: list[int] = []
    rows_list: list[int] = []
    for row, row_keys in enumerate(keys):
        for key in row_keys:
            block_list.append(key_ids.setdefault(key, len(key_ids)))
            rows_list.append(row)
    if not rows_list:
        empty = np.empty(0, np.int64)
        return empty, empty
    block = np.array(block_list, np.int64)
    rows = np.array(rows_list, np.int64)
    order = np.lexsort((rows, day[rows], block))
    block, rows = block[order], rows[order]
    sizes = np.bincount(block)
    small = sizes[block] <= full_block
    left: list[NDArray[np.int64]] = []
    right: list[NDArray[np.int64]] = []
    n = rows.shape[0]
    for offset in range(1, max(full_block, window + 1)):
        if offset >= n:
            break
        same = block[:-offset] == block[offset:]
        keep = same & (small[:-offset] | (offset <= window))
        left.append(rows[:-offset][keep])
        right.append(rows[offset:][keep])
    a = np.concatenate(left) if left else np.empty(0, np.int64)
    b = np.concatenate(right) if right else np.empty(0, np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    distinct = lo != hi
    codes = np.unique(lo[distinct] * len(keys) + hi[distinct])
    return codes // len(keys), codes % len(keys)
