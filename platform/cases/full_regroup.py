"""Full regroup in bounded memory: every report, in chunks of whole connected blocks.

Pass 1 streams the current version of every report (keyset pages) and keeps only integers:
for each report, the hashes of its blocking keys (per level), of its current case and of its
analysts' merges. Reports sharing a hash are connected; the connected components (numpy
min-label propagation) are the units of work, since no link and no case crosses them.
Pass 2 takes components in report-id order, packs them into chunks of about `chunk` reports,
and regroups each chunk in its own transaction with the incremental engine (so ids, workflow
and redirects behave exactly as there), reporting progress after each chunk.

Memory is the id list and a few integer arrays for every report, plus one chunk's documents.
One component larger than a chunk is still processed whole (its cases must be seen whole).
"""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Callable, Iterator

import numpy as np
from django.db import connection, transaction

from core.markings import Classification
from reports.models import Status

from .linking import report_keys
from .models import Case, CaseMember, CaseOverride
from .regroup import Neighbourhood, _rewrite, lock_levels, lock_reports

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
PAGE = 20_000


def _pages() -> Iterator[list[tuple[str, int, str, str, object]]]:
    last = "00000000-0000-0000-0000-000000000000"
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r.id, v.classification, v.category, v.status, v.details "
                "FROM reports_report r JOIN reports_reportversion v "
                "ON v.report_id = r.id AND v.version = r.current_version "
                "WHERE r.id > %s ORDER BY r.id LIMIT %s",
                [last, PAGE],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        yield [(str(r[0]), int(r[1]), str(r[2]), str(r[3]), r[4]) for r in rows]
        last = str(rows[-1][0])


def _components(n: int, nodes: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """Component label (smallest member index) of each of `n` reports, where reports that
    share a hash are connected."""
    parent = np.arange(n, dtype=np.int64)
    if len(nodes) == 0:
        return parent
    order = np.argsort(hashes, kind="stable")
    h, v = hashes[order], nodes[order]
    same = h[1:] == h[:-1]
    a, b = v[:-1][same], v[1:][same]
    while True:
        pa, pb = parent[a], parent[b]
        low = np.minimum(pa, pb)
        before = parent.copy()
        np.minimum.at(parent, pa, low)
        np.minimum.at(parent, pb, low)
        while True:  # pointer jumping: every report straight to its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        if np.array_equal(before, parent):
            return parent


def _scan() -> tuple[list[str], np.ndarray]:
    ids: list[str] = []
    index: dict[str, int] = {}
    nodes = array("q")
    hashes = array("q")
    for page in _pages():
        for rid, level, category, status, details in page:
            i = len(ids)
            ids.append(rid)
            index[rid] = i
            if status in (Status.DRAFT, Status.WITHDRAWN):
                continue
            doc = {
                "id": rid,
                "category": category,
                "details": details,
                "markings": {"classification": Classification(level).name},
            }
            for key in report_keys(doc):
                nodes.append(i)
                hashes.append(hash((level, key)))
    for member_report, case_id in CaseMember.objects.values_list("report_id", "case_id").iterator(
        chunk_size=PAGE
    ):
        if str(member_report) in index:
            nodes.append(index[str(member_report)])
            hashes.append(hash(("case", case_id)))
    for a, b in CaseOverride.objects.filter(kind=CaseOverride.KEEP_TOGETHER).values_list(
        "report_a_id", "report_b_id"
    ):
        if str(a) in index and str(b) in index:
            nodes.extend([index[str(a)], index[str(b)]])
            hashes.extend([hash(("merge", str(a)))] * 2)
    del index
    labels = _components(
        len(ids), np.frombuffer(nodes, dtype=np.int64), np.frombuffer(hashes, dtype=np.int64)
    )
    return ids, labels


def _chunk(ids: list[str]) -> int:
    """Regroup one chunk of whole components in its own transaction."""
    from .documents import report_documents

    with transaction.atomic():
        members = {str(m.report_id): m for m in CaseMember.objects.filter(report_id__in=ids)}
        lock_reports(sorted(set(ids) - set(members)))
        docs = report_documents(ids)
        levels = {int(Classification[d["markings"]["classification"]]) for d in docs}
        lock_levels(levels | {m.classification for m in members.values()})
        members = {str(m.report_id): m for m in CaseMember.objects.filter(report_id__in=ids)}
        case_ids = {m.case_id for m in members.values()}
        cases = {c.pk: c for c in Case.objects.filter(pk__in=case_ids).defer("features")}
        outcome = _rewrite(Neighbourhood(docs=docs, members=members, cases=cases))
    return len(outcome.cases)


def regroup_everything(progress: Progress | None = None, chunk: int = 20_000) -> int:
    started = time.monotonic()
    ids, labels = _scan()
    total = len(ids)
    order = np.lexsort((np.arange(total), labels))
    sorted_labels = labels[order]
    bounds = np.flatnonzero(np.diff(sorted_labels)) + 1
    starts = np.concatenate(([0], bounds)).astype(np.int64)
    ends = np.concatenate((bounds, [total])).astype(np.int64)
    scanned = time.monotonic() - started
    written = 0
    done = 0
    n_components = len(starts) if total else 0
    c = 0
    while c < n_components:
        stop = c
        while stop < n_components and (stop == c or ends[stop] - starts[c] <= chunk):
            stop += 1
        part = [ids[i] for i in order[starts[c] : ends[stop - 1]]]
        written += _chunk(part)
        done += len(part)
        c = stop
        if progress:
            progress(done, total)
    with transaction.atomic():
        Case.objects.filter(members__isnull=True).delete()  # rows whose reports are all gone
    log.info(
        "regrouped %d reports into %d cases in %.1f s (scan %.1f s)",
        total,
        written,
        time.monotonic() - started,
        scanned,
    )
    return Case.objects.count()
