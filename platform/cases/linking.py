"""The case layer's view of record linkage: blocking keys to store per report, and the
grouping of one neighbourhood of reports into clusters that continue the current cases.

Plain Python over report documents (no queries): `cases.regroup` reads and writes, this module
decides. Each cluster names the current case it continues (kept stable: the case holding most
of its reports), so ids survive regrouping; analysts' merges and splits arrive as must-link and
cannot-link pairs, and the levels of the reports are never mixed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.markings import Classification
from riskscore.grouping import exact_keys, group_reports

Doc = Mapping[str, Any]


@dataclass(frozen=True)
class Group:
    """One case-to-be: its reports, the current case it continues (None = a new case), the
    current cases merged into it, and why its reports are linked (JSON for the case row)."""

    report_ids: tuple[str, ...]
    previous_case: int | None
    absorbed: tuple[int, ...]
    links: tuple[dict[str, Any], ...]
    flagged: bool = False


def level_of(doc: Doc) -> int:
    return int(Classification[doc["markings"]["classification"]])


def report_keys(doc: Doc) -> list[str]:
    """The blocking keys stored for a report: two reports that may share a case share one."""
    return sorted({f"{reason}:{key}"[:300] for reason, key in exact_keys(doc)})


def _link_json(link: Any, names: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    detail = link.detail
    if link.reason in ("consignee", "customer", "organisation"):
        detail = names.get((link.a, link.reason), detail)  # the name as written, not its key
    return {
        "a": link.a,
        "b": link.b,
        "reason": link.reason,
        "detail": detail,
        "score": link.score,
        "evidence": [],
    }


def _written_names(docs: Iterable[Doc]) -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], str] = {}
    for doc in docs:
        details = doc.get("details") or {}
        for field in ("consignee", "customer", "organisation"):
            party = details.get(field)
            if isinstance(party, Mapping) and isinstance(party.get("name"), str):
                names[(str(doc["id"]), field)] = party["name"]
    return names


def _continuations(
    clusters: Sequence[Sequence[str]], previous: Mapping[str, int]
) -> list[tuple[int | None, tuple[int, ...]]]:
    """For each cluster, the previous case it continues and the ones it absorbs: a previous
    case goes to the cluster holding most of its reports (ties: the larger cluster first),
    and a cluster continues the largest previous case it received."""
    share: Counter[tuple[int, int]] = Counter()
    for n, ids in enumerate(clusters):
        for rid in ids:
            if rid in previous:
                share[(previous[rid], n)] += 1
    owner: dict[int, int] = {}
    best: dict[int, tuple[int, int]] = {}
    for (case, n), count in share.items():
        key = (count, len(clusters[n]))
        if case not in best or key > best[case] or (key == best[case] and n < owner[case]):
            best[case], owner[case] = key, n
    result: list[tuple[int | None, tuple[int, ...]]] = []
    for n in range(len(clusters)):
        mine = sorted(
            (case for case, cluster in owner.items() if cluster == n),
            key=lambda case: (-share[(case, n)], case),
        )
        result.append((mine[0], tuple(mine[1:])) if mine else (None, ()))
    return result


def group_neighbourhood(
    docs: Sequence[Doc],
    *,
    previous: Mapping[str, int],
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
) -> list[Group]:
    """Cluster the reports of one neighbourhood (every member of every case touched, and the
    new or changed reports), level by level, honouring the analysts' constraints."""
    apart = {frozenset(pair) for pair in cannot_link}
    by_id = {str(d["id"]): d for d in docs}
    groups: list[Group] = []
    for level in sorted({level_of(d) for d in docs}):
        level_docs = [d for d in docs if level_of(d) == level]
        grouping = group_reports(
            level_docs,
            may_link=lambda a, b: frozenset((str(a["id"]), str(b["id"]))) not in apart,
        )
        clusters = [list(case.report_ids) for case in grouping.cases]
        links = [list(case.links) for case in grouping.cases]
        clusters, links = _join_must_links(clusters, links, must_link, by_id, level)
        names = _written_names(level_docs)
        same_level = {rid: case for rid, case in previous.items() if rid in by_id}
        for ids, link_list, (keep, absorbed) in zip(
            clusters, links, _continuations(clusters, same_level), strict=True
        ):
            groups.append(
                Group(
                    report_ids=tuple(sorted(ids)),
                    previous_case=keep,
                    absorbed=absorbed,
                    links=tuple(_link_json(link, names) for link in link_list),
                )
            )
    return groups


def _join_must_links(
    clusters: list[list[str]],
    links: list[list[Any]],
    must_link: Iterable[tuple[str, str]],
    by_id: Mapping[str, Doc],
    level: int,
) -> tuple[list[list[str]], list[list[Any]]]:
    """Analysts' merges: clusters holding the two reports of a must-link pair become one."""
    where = {rid: n for n, ids in enumerate(clusters) for rid in ids}
    parent = list(range(len(clusters)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in must_link:
        if a in where and b in where and level_of(by_id[a]) == level == level_of(by_id[b]):
            ra, rb = find(where[a]), find(where[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    joined: dict[int, tuple[list[str], list[Any]]] = {}
    for n in range(len(clusters)):
        ids, found = joined.setdefault(find(n), ([], []))
        ids.extend(clusters[n])
        found.extend(links[n])
    return [ids for ids, _ in joined.values()], [found for _, found in joined.values()]
