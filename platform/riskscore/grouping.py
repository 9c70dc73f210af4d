"""Group reports into cases on top of probabilistic record linkage (``riskscore.linkage``).

Why: analysts work cases, not reports. This module keeps the older interface (``group_reports``
returning ``Grouping`` of ``Case`` with ``Link`` explanations), used by offline scoring and the
case layer, while the decisions are the linkage's: blocking, rarity-weighted Fellegi-Sunter
weights, and clustering in which a report joins a case on its evidence against the whole case
(no union-find over weak keys, so a shared generic name or forwarder cannot chain cases).

* Copies of one report (same ``id``) are ONE piece of evidence: the highest version wins (the
  origin's copy among equals) and the relaying nodes are remembered. A report whose latest
  version is withdrawn is ignored.
* ``may_link(a, b)`` lets the caller forbid merging across a marking boundary: a merge is
  refused if ANY pair of reports across the two clusters is forbidden, so a case never contains
  a pair the caller ruled out. Reports of different classifications are never one case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskscore.linkage import Evidence, LinkageConfig, NameStats, PairLink
from riskscore.linkage.blocking import blocking_keys
from riskscore.linkage.cluster import run_linkage
from riskscore.linkage.records import collapse_copies

__all__ = [
    "Case",
    "Grouping",
    "Link",
    "MayLink",
    "collapse_copies",
    "exact_keys",
    "group_reports",
    "reports_by_case",
]

Report = Mapping[str, Any]
MayLink = Callable[[Report, Report], bool]

_KEY_REASONS = {
    "s": "serial",
    "r": "shipment_ref",
    "n": "name",
    "t": "name_token",
    "a": "address",
    "d": "event_week",
    "e": "event_week",
}
_NAME_REASON = {"chip_diversion": "consignee", "cloud_compute": "customer"}


@dataclass(frozen=True)
class Link:
    """Why two reports are in the same case."""

    a: str
    b: str
    reason: str  # the strongest agreeing field: serial | shipment_ref | consignee | ...
    detail: str  # what agreed, as written ("name A ~ name B")
    score: float = 1.0  # probability-like: 0.5 at the middle of the review band
    weight: float = 0.0  # log2 match weight of the pair
    evidence: tuple[Evidence, ...] = ()  # every field that agreed or disagreed


@dataclass(frozen=True)
class Case:
    case_id: str
    report_ids: tuple[str, ...]  # sorted
    reports: tuple[Report, ...]  # one evidence copy per report id, in report_ids order
    relayed_by: Mapping[str, tuple[str, ...]]  # report id -> nodes that relayed a copy
    links: tuple[Link, ...]
    flagged: bool = False  # grew without cohesion: an analyst should look


@dataclass(frozen=True)
class Grouping:
    cases: tuple[Case, ...]
    case_of: Mapping[str, int]  # report id -> index in cases
    refused: tuple[Link, ...]  # links not made because may_link forbade them
    ignored: tuple[str, ...] = field(default=())  # withdrawn report ids
    review: tuple[Link, ...] = field(default=())  # possible same case, left to an analyst


def exact_keys(report: Report) -> list[tuple[str, str]]:
    """The blocking keys of one report as (reason, key): the caller can index them to find a
    new report's neighbourhood without regrouping everything."""
    out = []
    for key in sorted(blocking_keys(report)):
        prefix, _, value = key.partition(":")
        out.append((_KEY_REASONS.get(prefix, prefix), value))
    return out


def _as_link(pair: PairLink, category: str, config: LinkageConfig) -> Link:
    positive = [e for e in pair.evidence if e.weight > 0 or e.field == "analyst"]
    top = positive[0] if positive else None
    if top is None:
        reason, detail = "evidence", ""
    elif top.field == "analyst":
        reason, detail = "analyst", top.a
    else:
        reason = _NAME_REASON.get(category, "organisation") if top.field == "name" else top.field
        detail = top.a if top.a == top.b or not top.b else f"{top.a} ~ {top.b}"
    middle = (config.link_threshold + config.review_threshold) / 2
    score = 1.0 / (1.0 + 2.0 ** (middle - pair.weight))
    return Link(pair.a, pair.b, reason, detail, round(score, 4), pair.weight, pair.evidence)


def group_reports(
    reports: Iterable[Report],
    *,
    may_link: MayLink | None = None,
    stats: NameStats | None = None,
    config: LinkageConfig | None = None,
) -> Grouping:
    """Group reports into cases (see the module docstring)."""
    config = config or LinkageConfig()
    run = run_linkage(reports, stats=stats, config=config, may_link=may_link)
    by_id = {str(r["id"]): r for r in run.reports}

    def category(rid: str) -> str:
        return str(by_id[rid].get("category") or "")

    cases: list[Case] = []
    case_of: dict[str, int] = {}
    for cluster in sorted(run.clustering.clusters, key=lambda c: c.report_ids[0]):
        member_ids = cluster.report_ids
        digest = hashlib.sha256("\n".join(member_ids).encode()).hexdigest()[:16]
        for rid in member_ids:
            case_of[rid] = len(cases)
        cases.append(
            Case(
                case_id=f"case-{digest}",
                report_ids=member_ids,
                reports=tuple(by_id[rid] for rid in member_ids),
                relayed_by={rid: run.relayed_by.get(rid, ()) for rid in member_ids},
                links=tuple(_as_link(p, category(p.a), config) for p in cluster.links),
                flagged=cluster.flagged,
            )
        )
    return Grouping(
        cases=tuple(cases),
        case_of=case_of,
        refused=tuple(_as_link(p, category(p.a), config) for p in run.refused),
        ignored=run.clustering.ignored,
        review=tuple(_as_link(p, category(p.a), config) for p in run.clustering.review),
    )


def reports_by_case(grouping: Grouping, reports: Iterable[Report]) -> list[list[Report]]:
    """Every copy (relays and older versions included) of each case's reports, case order.

    Feature building wants the copies: they carry the relaying nodes shown (weight 0) in the
    explanation. Reports of ignored (withdrawn) ids belong to no case.
    """
    out: list[list[Report]] = [[] for _ in grouping.cases]
    for n, report in enumerate(reports):
        case = grouping.case_of.get(str(report.get("id") or f"row-{n}"))
        if case is not None:
            out[case].append(report)
    return out
