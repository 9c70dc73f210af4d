"""Clustering that cannot chain: a report joins a case on its evidence against the whole case.

Candidate pairs (from blocking) are weighed (``compare``) and tried strongest first. Two clusters
X and Y merge only when

* no analyst's split (cannot-link) separates them and both hold one classification level;
* no pair across them disagrees strongly (weight <= ``veto``);
* a hard identifier (serial, shipment reference) links them, or the evidence of the whole
  cross product does: its sum divided by the smaller cluster's size reaches the link threshold
  (for two single reports: the pair's own weight) and its mean is not negative. A report that
  shares a generic name with one member but disagrees with the others does not get in;
* the result stays under ``max_cluster`` (hard identifiers excepted). A cluster that would grow
  past it, or whose members on average barely agree, is ``flagged`` for an analyst.

Reports that were one case before need only the review threshold to stay together (stability:
a case does not split on a marginal pair). Pairs between the thresholds that end up apart are
the review list ("possible same case"). Analysts' merges (must-link) are applied first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .blocking import candidate_pairs, record_keys
from .compare import Evidence, Table
from .config import LinkageConfig
from .names import NameStats
from .records import Record, Report, collapse_copies, extract

__all__ = ["Cluster", "Clustering", "PairLink", "cluster_reports", "run_linkage"]

Ints = NDArray[np.int64]
CROSS_LIMIT = 40_000  # cross products larger than this are not evaluated (too big to merge)


@dataclass(frozen=True)
class PairLink:
    a: str
    b: str
    weight: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Cluster:
    report_ids: tuple[str, ...]  # sorted
    previous_case: str | None  # the previous case key this cluster continues
    absorbed: tuple[str, ...]  # other previous case keys merged into this one
    links: tuple[PairLink, ...]  # the evidence that holds it together
    flagged: bool  # grew without cohesion: needs an analyst


@dataclass(frozen=True)
class Clustering:
    clusters: tuple[Cluster, ...]
    review: tuple[PairLink, ...]  # "possible same case": between the thresholds
    ignored: tuple[str, ...]  # withdrawn report ids


@dataclass(frozen=True)
class LinkageRun:
    """Everything one run decided, for ``cluster_reports`` and ``grouping.group_reports``."""

    clustering: Clustering
    reports: tuple[Report, ...]  # kept copies, in id order
    relayed_by: Mapping[str, tuple[str, ...]]
    refused: tuple[PairLink, ...]  # links a caller's may_link forbade


MayLink = Callable[[Report, Report], bool]


class _Engine:
    def __init__(
        self,
        records: Sequence[Record],
        reports: Sequence[Report],
        table: Table,
        config: LinkageConfig,
        may_link: MayLink | None,
    ) -> None:
        self.records = records
        self.reports = reports
        self.table = table
        self.config = config
        self.may_link = may_link
        n = len(records)
        self.n = n
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}
        self.previous: dict[int, Counter[str]] = {}
        self.forbidden: dict[int, set[int]] = {}
        self.flagged: set[int] = set()
        self.merges: list[tuple[int, int, float, bool]] = []  # (i, j, weight, by analyst)
        self.refused: list[tuple[int, int, float]] = []
        levels: dict[str, int] = {}
        self.level = np.array([levels.setdefault(r.level, len(levels)) for r in records], np.int64)
        self.codes = np.empty(0, np.int64)
        self.code_weight = np.empty(0, np.float64)

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, x: int, y: int) -> int:
        if len(self.members[x]) < len(self.members[y]):
            x, y = y, x
        self.parent[y] = x
        self.members[x].extend(self.members.pop(y))
        if y in self.previous:
            self.previous.setdefault(x, Counter()).update(self.previous.pop(y))
        if y in self.forbidden:
            self.forbidden.setdefault(x, set()).update(self.forbidden.pop(y))
        if y in self.flagged:
            self.flagged.discard(y)
            self.flagged.add(x)
        return x

    def separated(self, x: int, y: int) -> bool:
        fx, fy = self.forbidden.get(x), self.forbidden.get(y)
        if not fx and not fy:
            return False
        if fx and any(m in fx for m in self.members[y]):
            return True
        return bool(fy and any(m in fy for m in self.members[x]))

    def cross(self, mx: Sequence[int], my: Sequence[int]) -> NDArray[np.float64]:
        """Weights of every pair across two member lists (candidates looked up, others
        computed), shape (len(mx), len(my))."""
        a = np.repeat(np.asarray(mx, np.int64), len(my))
        b = np.tile(np.asarray(my, np.int64), len(mx))
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        codes = lo * self.n + hi
        pos = np.searchsorted(self.codes, codes)
        pos = np.minimum(pos, max(0, self.codes.shape[0] - 1))
        found = self.codes[pos] == codes if self.codes.shape[0] else np.zeros(codes.shape, bool)
        weights = np.where(found, self.code_weight[pos] if self.codes.shape[0] else 0.0, 0.0)
        missing = np.flatnonzero(~found)
        if missing.size:
            weights[missing] = self.table.weights(lo[missing], hi[missing])[0]
        return weights.reshape(len(mx), len(my))

    def _allowed(self, mx: Sequence[int], my: Sequence[int]) -> bool:
        if self.may_link is None:
            return True
        return all(self.may_link(self.reports[p], self.reports[q]) for p in mx for q in my)

    def attempt(self, i: int, j: int, weight: float, hard: bool) -> bool:
        """Merge the clusters of i and j if the whole-cluster evidence allows; True if merged."""
        cfg = self.config
        x, y = self.find(i), self.find(j)
        if x == y:
            return True
        if self.separated(x, y):
            return False
        mx, my = self.members[x], self.members[y]
        px, py = self.previous.get(x), self.previous.get(y)
        stay = bool(px and py and not px.keys().isdisjoint(py.keys()))
        threshold = cfg.review_threshold if stay else cfg.link_threshold
        if weight < threshold:
            return False
        size = len(mx) + len(my)
        if len(mx) * len(my) > CROSS_LIMIT:
            if not hard:
                self.flagged.add(x if len(mx) >= len(my) else y)
                return False
        elif len(mx) == 1 and len(my) == 1:
            if not hard and size > cfg.max_cluster:
                return False
        else:
            cross = self.cross(mx, my)
            if float(cross.min()) <= cfg.veto:
                return False
            if not hard:
                if size > cfg.max_cluster:
                    self.flagged.add(x if len(mx) >= len(my) else y)
                    return False
                strength = float(cross.sum()) / min(len(mx), len(my))
                if strength < threshold or float(cross.mean()) < cfg.min_mean:
                    return False
        if not self._allowed(mx, my):
            self.refused.append((i, j, weight))
            return False
        self.union(x, y)
        self.merges.append((i, j, weight, False))
        return True

    def must_link(self, i: int, j: int) -> None:
        x, y = self.find(i), self.find(j)
        if x == y or self.level[i] != self.level[j] or self.separated(x, y):
            return
        self.union(x, y)
        self.merges.append((i, j, 0.0, True))

    def cohesion_flags(self) -> None:
        """Flag clusters whose members on average barely agree (or that are very large)."""
        cfg = self.config
        for root, members in self.members.items():
            if len(members) < max(3, cfg.flag_size):
                continue
            if len(members) > cfg.max_cluster:
                self.flagged.add(root)
                continue
            cross = self.cross(members, members)
            upper = cross[np.triu_indices(len(members), k=1)]
            if float(upper.mean()) < cfg.cohesion_min:
                self.flagged.add(root)


def _complete_components(
    engine: _Engine, left: Ints, right: Ints, weight: NDArray[np.float64]
) -> None:
    """Weigh, in one batch, every pair inside each small group of reports joined by pairs above
    the review threshold: the whole-cluster checks then find their weights precomputed."""
    n = engine.n
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    strong = np.flatnonzero(weight >= engine.config.review_threshold)
    for i, j in zip(left[strong].tolist(), right[strong].tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    label = np.fromiter((find(i) for i in range(n)), np.int64, n)
    order = np.argsort(label, kind="stable")
    sizes = np.bincount(label, minlength=n)
    lo_list: list[Ints] = []
    hi_list: list[Ints] = []
    sorted_label = label[order]
    size_of = sizes[sorted_label]
    eligible = (size_of >= 3) & (size_of <= 64)
    for offset in range(1, 64):
        if offset >= n:
            break
        same = (sorted_label[:-offset] == sorted_label[offset:]) & eligible[:-offset]
        if not same.any():
            break
        a, b = order[:-offset][same], order[offset:][same]
        lo_list.append(np.minimum(a, b))
        hi_list.append(np.maximum(a, b))
    if not lo_list:
        return
    lo, hi = np.concatenate(lo_list), np.concatenate(hi_list)
    codes = lo * n + hi
    new = ~np.isin(codes, engine.codes)
    if not new.any():
        return
    extra = engine.table.weights(lo[new], hi[new])[0]
    merged = np.concatenate((engine.codes, codes[new]))
    by_code = np.argsort(merged, kind="stable")
    engine.codes = merged[by_code]
    engine.code_weight = np.concatenate((engine.code_weight, extra))[by_code]


def _assign_previous(
    clusters: list[list[str]], previous: Mapping[str, str]
) -> tuple[list[str | None], list[list[str]]]:
    """The previous key each cluster keeps and the keys it absorbs (see the interface)."""
    triples: list[tuple[int, str, int]] = []
    holders: dict[str, Counter[int]] = {}
    for c, ids in enumerate(clusters):
        counts = Counter(previous[r] for r in ids if r in previous)
        for key, count in counts.items():
            triples.append((count, key, c))
            holders.setdefault(key, Counter())[c] = count
    size = {key: sum(h.values()) for key, h in holders.items()}
    kept: list[str | None] = [None] * len(clusters)
    taken: set[str] = set()
    # most reports first; among equals the bigger previous case keeps its key
    for _count, key, c in sorted(triples, key=lambda t: (-t[0], -size[t[1]], t[1], t[2])):
        if kept[c] is None and key not in taken:
            kept[c] = key
            taken.add(key)
    absorbed: list[list[str]] = [[] for _ in clusters]
    for key in sorted(set(holders) - taken):
        best = min(holders[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        absorbed[best].append(key)
    return kept, absorbed


def run_linkage(
    reports: Iterable[Report],
    *,
    previous: Mapping[str, str] | None = None,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    stats: NameStats | None = None,
    config: LinkageConfig | None = None,
    may_link: MayLink | None = None,
) -> LinkageRun:
    """The full linkage run (``cluster_reports`` returns its ``clustering``)."""
    config = config or LinkageConfig()
    previous = previous or {}
    kept, relays, withdrawn = collapse_copies(reports)
    kept.sort(key=lambda r: str(r["id"]))
    records = [extract(r) for r in kept]
    ids = [r.id for r in records]
    index = {rid: i for i, rid in enumerate(ids)}
    table = Table(records, stats or NameStats.from_records(records), config)
    engine = _Engine(records, kept, table, config, may_link)
    for rid, key in previous.items():
        i = index.get(str(rid))
        if i is not None:
            engine.previous[i] = Counter({str(key): 1})
    for a, b in cannot_link:
        i, j = index.get(str(a)), index.get(str(b))
        if i is not None and j is not None and i != j:
            engine.forbidden.setdefault(i, set()).add(j)
            engine.forbidden.setdefault(j, set()).add(i)

    left, right = candidate_pairs(
        [record_keys(r) for r in records], table.day, config.full_block, config.window
    )
    same_level = engine.level[left] == engine.level[right]
    left, right = left[same_level], right[same_level]
    weight, hard = table.weights(left, right)
    engine.codes = left * len(records) + right  # sorted: candidate_pairs returns sorted codes
    engine.code_weight = weight
    _complete_components(engine, left, right, weight)

    for a, b in must_link:
        i, j = index.get(str(a)), index.get(str(b))
        if i is not None and j is not None:
            engine.must_link(i, j)
    tried = np.flatnonzero(weight >= config.review_threshold)
    order = tried[np.lexsort((right[tried], left[tried], -weight[tried]))]
    for p in order.tolist():
        engine.attempt(int(left[p]), int(right[p]), float(weight[p]), bool(hard[p]))
    engine.cohesion_flags()
    return _result(engine, ids, left, right, weight, order, previous, relays, withdrawn)


def _result(
    engine: _Engine,
    ids: list[str],
    left: Ints,
    right: Ints,
    weight: NDArray[np.float64],
    order: Ints,
    previous: Mapping[str, str],
    relays: Mapping[str, tuple[str, ...]],
    withdrawn: list[str],
) -> LinkageRun:
    table = engine.table
    roots = sorted(engine.members, key=lambda r: min(engine.members[r]))
    # review: the best pair per pair of clusters that stayed apart
    review_pairs: dict[tuple[int, int], int] = {}
    for p in order.tolist():
        x, y = engine.find(int(left[p])), engine.find(int(right[p]))
        if x != y and not engine.separated(x, y):
            review_pairs.setdefault((min(x, y), max(x, y)), p)
    wanted = sorted(
        {(min(i, j), max(i, j)) for i, j, _w, _a in engine.merges}
        | {(int(left[p]), int(right[p])) for p in review_pairs.values()}
        | {(min(i, j), max(i, j)) for i, j, _w in engine.refused}
    )
    explained = dict(zip(wanted, table.evidence(wanted), strict=True))

    def link(i: int, j: int, w: float, analyst: bool = False) -> PairLink:
        evidence = explained[(min(i, j), max(i, j))]
        if analyst:
            evidence = (Evidence("analyst", "agree", 0.0, "merged by an analyst", ""), *evidence)
        a, b = sorted((ids[i], ids[j]))
        return PairLink(a, b, round(w, 3), evidence)

    links_of: dict[int, list[PairLink]] = {}
    for i, j, w, analyst in engine.merges:
        links_of.setdefault(engine.find(i), []).append(link(i, j, w, analyst))
    member_ids = [sorted(ids[m] for m in engine.members[r]) for r in roots]
    kept_keys, absorbed = _assign_previous(member_ids, previous)
    clusters = tuple(
        Cluster(
            report_ids=tuple(member_ids[c]),
            previous_case=kept_keys[c],
            absorbed=tuple(absorbed[c]),
            links=tuple(links_of.get(root, ())),
            flagged=root in engine.flagged,
        )
        for c, root in enumerate(roots)
    )
    review = tuple(
        link(int(left[p]), int(right[p]), float(weight[p])) for p in review_pairs.values()
    )
    refused = tuple(link(i, j, w) for i, j, w in engine.refused)
    return LinkageRun(
        Clustering(clusters, review, tuple(withdrawn)),
        tuple(engine.reports),
        relays,
        refused,
    )


def cluster_reports(
    reports: Iterable[Report],
    *,
    previous: Mapping[str, str] | None = None,
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    stats: NameStats | None = None,
    config: LinkageConfig | None = None,
) -> Clustering:
    """Cluster reports into cases (see the module docstring and LINKAGE-INTERFACE)."""
    return run_linkage(
        reports,
        previous=previous,
        must_link=must_link,
        cannot_link=cannot_link,
        stats=stats,
        config=config,
    ).clustering
