"""The case layer's view of record linkage: blocking keys to store per report, and the
grouping of one neighbourhood of reports into clusters that continue the current cases.

Plain Python over report documents (no queries): `cases.regroup` reads and writes, this module
decides. Each cluster names the current case it continues (kept stable: the case holding most
of its reports), so ids survive regrouping; analysts' merges and splits arrive as must-link and
cannot-link pairs, and the levels of the reports are never mixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.markings import Classification
from riskscore.grouping import _as_link
from riskscore.linkage import (
    Evidence,
    LinkageConfig,
    NameStats,
    PairLink,
    blocking_keys,
    cluster_reports,
)

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
    return sorted(key[:300] for key in blocking_keys(doc))


LOOKUP_CAP = 200  # a name token, name or address on more reports than this finds no neighbours


def lookup_keys(keys: Iterable[str], stats: NameStats, cap: int = LOOKUP_CAP) -> list[str]:
    """The stored keys worth looking a new report's neighbourhood up by: serials and shipment
    references always; a name token, whole name or address only while it is rare on this
    node (a stem shared by thousands of names would pull thousands of cases into every
    batch); event-week buckets never (they only add candidates, the linkage decides)."""
    chosen = []
    for key in keys:
        prefix, _, value = key.partition(":")
        if (
            prefix in ("s", "r")
            or (prefix == "t" and stats.token_df.get(value, 0) <= cap)
            or (prefix == "n" and stats.key_count.get(value, 0) <= cap)
            or (prefix == "a" and stats.address_count.get(value, 0) <= cap)
        ):
            chosen.append(key)
    return chosen


def _evidence_json(evidence: Evidence) -> dict[str, Any]:
    return {
        "field": evidence.field,
        "outcome": evidence.outcome,
        "weight": round(float(evidence.weight), 2),
        "a": evidence.a,
        "b": evidence.b,
    }


def link_json(pair: PairLink, category: str, config: LinkageConfig) -> dict[str, Any]:
    """A link as the case row stores it: the strongest agreeing field and what agreed, as
    written, then every field that agreed or disagreed with its weight."""
    link = _as_link(pair, category, config)
    return {
        "a": link.a,
        "b": link.b,
        "reason": link.reason,
        "detail": link.detail,
        "score": link.score,
        "weight": round(float(pair.weight), 2),
        "evidence": [_evidence_json(e) for e in pair.evidence],
    }


def group_neighbourhood(
    docs: Sequence[Doc],
    *,
    previous: Mapping[str, int],
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    stats: NameStats | None = None,
) -> list[Group]:
    """Cluster the reports of one neighbourhood (every member of every case touched, and the
    new or changed reports), honouring the analysts' constraints; levels never mix."""
    config = LinkageConfig()
    clustering = cluster_reports(
        docs,
        previous={rid: str(case) for rid, case in previous.items()},
        must_link=must_link,
        cannot_link=cannot_link,
        stats=stats,
        config=config,
    )
    category = {str(d["id"]): str(d.get("category") or "") for d in docs}
    return [
        Group(
            report_ids=tuple(cluster.report_ids),
            previous_case=int(cluster.previous_case) if cluster.previous_case else None,
            absorbed=tuple(int(key) for key in cluster.absorbed),
            links=tuple(
                link_json(pair, category.get(pair.a, ""), config) for pair in cluster.links
            ),
            flagged=cluster.flagged,
        )
        for cluster in clustering.clusters
    ]
