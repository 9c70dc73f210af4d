"""Group reports into cases: exact keys first, then fuzzy entity names, with union-find.

Why: analysts work cases, not reports. Reports about the same shipment or entity arrive from
several nodes, in several spellings, and as relayed copies. Rules, in the order links are tried:

1. Copies of one report (same ``id``) are ONE piece of evidence: the highest version wins (the
   origin's copy among equals) and the relaying nodes are remembered. A report whose latest
   version is withdrawn is ignored.
2. Exact keys: the same accelerator serial, the same shipment reference, the same normalised
   consignee name + country, the same cloud customer name + country, the same military-AI
   organisation name + country.
3. Fuzzy entity names: consignees, end users, organisations and customers whose normalised names
   have cosine >= ``fuzzy_threshold`` (``matching.NameMatcher``) and whose countries do not
   disagree. Intermediaries (forwarders, banks) and officers are NOT linking keys: one forwarder
   serves thousands of unrelated shipments; they are features instead.

Every merge records the link (reports, reason, detail, score). ``may_link(a, b)`` lets the caller
forbid merging across a marking boundary: a link is refused if ANY pair of reports across the
two components is forbidden, so a case never contains a pair the caller ruled out, even
transitively.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from riskscore.matching import NameMatcher, name_key, tokenize_names

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

# reason -> priority (lower = tried first, so the explanation shows the strongest evidence)
_PRIORITY = {
    "serial": 0,
    "shipment_ref": 1,
    "consignee": 2,
    "customer": 3,
    "organisation": 4,
    "entity_name": 5,
}
_ALNUM = re.compile(r"[^0-9A-Z]+")
_FULL_PAIRS_UP_TO = 64  # key groups larger than this are linked as a chain, not all pairs


@dataclass(frozen=True)
class Link:
    """Why two reports are in the same case."""

    a: str
    b: str
    reason: str  # serial | shipment_ref | consignee | customer | organisation | entity_name
    detail: str  # the shared value, or "name A ~ name B"
    score: float = 1.0  # 1.0 for exact keys, the cosine for entity names


@dataclass(frozen=True)
class Case:
    case_id: str
    report_ids: tuple[str, ...]  # sorted
    reports: tuple[Report, ...]  # one evidence copy per report id, in report_ids order
    relayed_by: Mapping[str, tuple[str, ...]]  # report id -> nodes that relayed a copy
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Grouping:
    cases: tuple[Case, ...]
    case_of: Mapping[str, int]  # report id -> index in cases
    refused: tuple[Link, ...]  # links not made because may_link forbade them
    ignored: tuple[str, ...] = field(default=())  # withdrawn report ids


def _version(report: Report) -> int:
    value = report.get("version")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def collapse_copies(
    reports: Iterable[Report],
) -> tuple[list[Report], dict[str, tuple[str, ...]], list[str]]:
    """One copy per report id: (kept reports, relaying nodes per id, withdrawn ids).

    The highest version wins; among copies of that version the origin's own copy (no
    ``relayed_by``) wins, else the first seen. Reports without an id get ``row-<n>``.
    """
    best: dict[str, Report] = {}
    relays: dict[str, set[str]] = {}
    order: list[str] = []
    for n, report in enumerate(reports):
        rid = str(report.get("id") or f"row-{n}")
        if rid not in best:
            order.append(rid)
            best[rid] = report if report.get("id") else {**report, "id": rid}
            relays[rid] = set()
        else:
            current = best[rid]
            newer = _version(report) > _version(current)
            origin_copy = (
                _version(report) == _version(current)
                and not report.get("relayed_by")
                and bool(current.get("relayed_by"))
            )
            if newer or origin_copy:
                best[rid] = report
        for node in report.get("relayed_by") or ():
            relays[rid].add(str(node))
    kept: list[Report] = []
    withdrawn: list[str] = []
    for rid in order:
        if best[rid].get("status") == "withdrawn":
            withdrawn.append(rid)
        else:
            kept.append(best[rid])
    return kept, {rid: tuple(sorted(nodes)) for rid, nodes in relays.items()}, withdrawn


def _party(details: Mapping[str, Any], key: str) -> tuple[str, str] | None:
    party = details.get(key)
    if not isinstance(party, Mapping):
        return None
    name = party.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    country = party.get("country")
    return name, country.strip().upper() if isinstance(country, str) else ""


def _exact_keys(report: Report) -> list[tuple[str, str]]:
    """(reason, key) pairs of one report."""
    details = report.get("details")
    if not isinstance(details, Mapping):
        return []
    keys: list[tuple[str, str]] = []
    for item in details.get("items") or ():
        if isinstance(item, Mapping):
            for serial in item.get("serials") or ():
                norm = _ALNUM.sub("", str(serial).upper())
                if len(norm) >= 4:
                    keys.append(("serial", norm))
    ref = details.get("shipment_ref")
    if isinstance(ref, str) and len(_ALNUM.sub("", ref.upper())) >= 3:
        keys.append(("shipment_ref", _ALNUM.sub("", ref.upper())))
    for reason, field_name in (
        ("consignee", "consignee"),
        ("customer", "customer"),
        ("organisation", "organisation"),
    ):
        if reason == "organisation" and report.get("category") != "military_ai":
            continue
        party = _party(details, field_name)
        if party is not None:
            key = name_key(party[0])
            if key:
                keys.append((reason, f"{key}|{party[1]}"))
    return keys


def _linking_names(report: Report) -> list[tuple[str, str]]:
    """(name, country) of the parties that identify a case (not forwarders, banks, officers)."""
    out: list[tuple[str, str]] = []
    details = report.get("details")
    if isinstance(details, Mapping):
        for key in ("consignee", "declared_end_user", "suspected_end_user", "organisation",
                    "customer"):  # fmt: skip
            party = _party(details, key)
            if party is not None:
                out.append(party)
    for entity in report.get("entities") or ():
        if not isinstance(entity, Mapping):
            continue
        if entity.get("kind") != "organisation":
            continue
        if entity.get("role") not in ("consignee", "end_user", "subject"):
            continue
        name = entity.get("name")
        if isinstance(name, str) and name.strip():
            country = entity.get("country")
            out.append((name, country.strip().upper() if isinstance(country, str) else ""))
    return out


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.members: list[list[int]] = [[i] for i in range(n)]

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members[b])
        self.members[b] = []


def exact_keys(report: Report) -> list[tuple[str, str]]:
    """The exact linking keys of one report, as (reason, key): the caller can index them to find
    a new report's case without regrouping everything."""
    return _exact_keys(report)


def _fuzzy_links(reports: Sequence[Report], ids: Sequence[str], threshold: float) -> list[Link]:
    """Links between reports whose identifying party names are near-duplicates."""
    rows: dict[tuple[str, str], int] = {}
    texts: list[str] = []
    countries: list[str] = []
    owners: list[set[int]] = []
    originals: list[str] = []
    for r, report in enumerate(reports):
        for name, country in _linking_names(report):
            norm = " ".join(sorted(name_key(name).split()))
            if not norm:
                continue
            key = (norm, country)
            if key not in rows:
                rows[key] = len(texts)
                texts.append(name)
                countries.append(country)
                owners.append(set())
                originals.append(name)
            owners[rows[key]].add(r)
    links: list[Link] = []
    # the same normalised name + country in several reports: linked at score 1
    for row, members in enumerate(owners):
        ordered = sorted(members, key=lambda m: ids[m])
        for m in ordered[1:]:
            links.append(
                Link(ids[ordered[0]], ids[m], "entity_name", f"{originals[row]} (same name)", 1.0)
            )
    if len(texts) < 2:
        return links
    matcher = NameMatcher.build(tokenize_names(texts))
    cand_rows, cand_scores = matcher.search(tokenize_names(texts), top_m=8, exclude_self=True)
    for i in range(len(texts)):
        for slot in range(cand_rows.shape[1]):
            j = int(cand_rows[i, slot])
            score = float(cand_scores[i, slot])
            if j < 0 or j <= i or score < threshold:
                continue
            if countries[i] and countries[j] and countries[i] != countries[j]:
                continue
            detail = f"{originals[i]} ~ {originals[j]}"
            for a in sorted(owners[i], key=lambda m: ids[m]):
                for b in sorted(owners[j], key=lambda m: ids[m]):
                    if a != b:
                        x, y = sorted((ids[a], ids[b]))
                        links.append(Link(x, y, "entity_name", detail, round(score, 4)))
    return links


def group_reports(
    reports: Iterable[Report],
    *,
    may_link: MayLink | None = None,
    fuzzy_threshold: float = 0.85,
) -> Grouping:
    """Group reports into cases (see the module docstring for the rules)."""
    kept, relays, withdrawn = collapse_copies(reports)
    order = sorted(range(len(kept)), key=lambda i: str(kept[i]["id"]))
    kept = [kept[i] for i in order]
    ids = [str(r["id"]) for r in kept]
    index = {rid: i for i, rid in enumerate(ids)}

    candidates: list[Link] = []
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, report in enumerate(kept):
        for reason, key in dict.fromkeys(_exact_keys(report)):
            by_key.setdefault((reason, key), []).append(i)
    for (reason, key), members in by_key.items():
        if len(members) < 2:
            continue
        detail = key.split("|")[0] if reason in ("consignee", "customer", "organisation") else key
        if len(members) <= _FULL_PAIRS_UP_TO:
            pairs = [(a, b) for n, a in enumerate(members) for b in members[n + 1 :]]
        else:
            pairs = list(pairwise(members))
        candidates.extend(Link(ids[a], ids[b], reason, detail) for a, b in pairs)
    candidates.extend(_fuzzy_links(kept, ids, fuzzy_threshold))
    candidates.sort(key=lambda link: (_PRIORITY[link.reason], -link.score, link.a, link.b))

    uf = _UnionFind(len(kept))
    accepted: list[Link] = []
    refused: list[Link] = []
    for link in candidates:
        ra, rb = uf.find(index[link.a]), uf.find(index[link.b])
        if ra == rb:
            continue
        if may_link is not None and not all(
            may_link(kept[x], kept[y]) for x in uf.members[ra] for y in uf.members[rb]
        ):
            refused.append(link)
            continue
        uf.union(ra, rb)
        accepted.append(link)

    groups: dict[int, list[int]] = {}
    for i in range(len(kept)):
        groups.setdefault(uf.find(i), []).append(i)
    links_of: dict[int, list[Link]] = {}
    for link in accepted:
        links_of.setdefault(uf.find(index[link.a]), []).append(link)
    ordered_groups = sorted(groups.values(), key=lambda g: ids[g[0]])
    cases: list[Case] = []
    case_of: dict[str, int] = {}
    for members in ordered_groups:
        member_ids = tuple(ids[m] for m in members)
        digest = hashlib.sha256("\n".join(member_ids).encode()).hexdigest()[:16]
        for rid in member_ids:
            case_of[rid] = len(cases)
        cases.append(
            Case(
                case_id=f"case-{digest}",
                report_ids=member_ids,
                reports=tuple(kept[m] for m in members),
                relayed_by={rid: relays.get(rid, ()) for rid in member_ids},
                links=tuple(links_of.get(uf.find(members[0]), ())),
            )
        )
    return Grouping(
        cases=tuple(cases), case_of=case_of, refused=tuple(refused), ignored=tuple(withdrawn)
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
