"""Search and pivot reads, scoped exactly like every other read: reports through
`reports.selectors.visible_reports`, cases through `cases.selectors`, and an entity is shown only
through the current versions of reports the reader may see (an entity named only in a report
above the reader's clearance is "not found", never suggested, never counted).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchVectorExact, SearchVectorField
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import ExpressionWrapper, RawSQL
from django.db.models.functions import Coalesce, TruncDate

from cases.models import Case as InvestigationCase
from cases.selectors import search_visible_cases, visible_cases
from reports.models import Entity, EntityRole, Report, ReportEntity
from reports.selectors import ReportFilters, list_reports, visible_reports
from reports.services import normalise_name
from search.models import SearchDocument

AnyUser = AbstractBaseUser | AnonymousUser

MAX_QUERY = 200
COUNT_CAP = 1_000
FUZZY_MIN_LENGTH = 4
FUZZY_ALTERNATIVES = 3
FUZZY_THRESHOLD = 0.45
ENTITY_WITHIN = 25  # entities are looked for in the best this many reports (one page)
ENTITY_ALIKE = 0.5  # pg_trgm word similarity of the typed text to an entity's name
_WORD = re.compile(r"[^\s\"'()<>!&|:*]+")


@dataclass
class SearchResults:
    text: str
    reports: list[Report]
    count: int  # capped at COUNT_CAP + 1 ("more than 1,000")
    entities: list[Entity] = field(default_factory=list)
    cases: list[InvestigationCase] = field(default_factory=list)

    @property
    def count_capped(self) -> bool:
        return self.count > COUNT_CAP


def _similar_terms(word: str) -> list[str]:
    """Words of the lexicon spelt like `word` (pg_trgm), when `word` itself is not one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM search_searchterm WHERE term = %s", [word])
        if cursor.fetchone():
            return []
        cursor.execute(
            "SELECT term FROM search_searchterm WHERE term %% %s::text "
            "AND similarity(term, %s::text) >= %s "
            "ORDER BY similarity(term, %s::text) DESC, term LIMIT %s",
            [word, word, FUZZY_THRESHOLD, word, FUZZY_ALTERNATIVES],
        )
        return [row[0] for row in cursor.fetchall()]


def build_query(text: str) -> SearchQuery | None:
    """Every word must match (itself or, when misspelt, a word spelt like it)."""
    query: SearchQuery | None = None
    for word in _WORD.findall(text.lower())[:12]:
        term = SearchQuery(word, config="simple", search_type="plain")
        # Words with digits are serials, references or models: exact, never spelt-alike.
        if len(word) >= FUZZY_MIN_LENGTH and not any(c.isdigit() for c in word):
            for similar in _similar_terms(word):
                term = term | SearchQuery(similar, config="simple", search_type="plain")
        query = term if query is None else query & term
    return query


# How a report matches, best first: the typed text is one of its serials or shipment
# references; every word is in its title; every word is in its title, party names or
# identifiers; every word is somewhere. Within a class the newest comes first.
RANK_IDENTIFIER = 4.0
RANK_TITLE = 3.0
RANK_HEAD = 2.0
RANK_TEXT = 1.0


NEWEST = ("-search_document__updated_at", "-pk")
"""Newest first within a class, by the document's copy of updated_at (its index is the walk)."""

FEW_MATCHES = 1_000
"""A class with up to this many matches is read whole from its index and sorted; a larger one by
walking the newest documents until enough match (`_walk_newest`). The planner cannot choose
itself: a serial has no statistics, so it guessed 5,000 matches and walked all 1,000,000
reports for the one that matched (1.8 s)."""
WALK_WINDOW = 5_000
WALK_LIMIT = 160_000  # documents a walk reads (5,000 + 10,000 + ... ), some 150 ms at most


def _title_words(head: str) -> Func:
    """The title's words of the head (its only lexemes of weight A)."""
    return Func(
        F(head),
        function="ts_filter",
        template="%(function)s(%(expressions)s, '{a}')",
        output_field=SearchVectorField(),
    )


@dataclass(frozen=True)
class _Class:
    """One rank class: its condition from a report and on the search document itself."""

    rank: float
    on_report: Q
    on_document: Q


def _conditions(query: SearchQuery, identifier: str, via: str) -> list[Q]:
    """The identifier, title, head and text conditions of the classes (disjoint, best first)
    on the search document reached through `via` ("search_document__" from a report, "" on
    the document itself)."""
    head = Q(**{f"{via}head": query})
    exact = Q(**{f"{via}identifiers__contains": [identifier]})
    # The head's index finds the candidates; the title is checked on those only.
    title = head & Q(SearchVectorExact(_title_words(f"{via}head"), query))
    anywhere = Q(**{f"{via}document": query})
    return [exact, title & ~exact, head & ~title & ~exact, anywhere & ~head & ~exact]


@dataclass(frozen=True)
class _Match:
    """The typed text as a full-text query and as an identifier (a serial, a reference)."""

    query: SearchQuery
    identifier: str

    @classmethod
    def of(cls, text: str) -> _Match | None:
        query = build_query(text)
        return None if query is None else cls(query=query, identifier=text.upper())

    def classes(self) -> list[_Class]:
        on_report = _conditions(self.query, self.identifier, "search_document__")
        on_document = _conditions(self.query, self.identifier, "")
        ranks = [RANK_IDENTIFIER, RANK_TITLE, RANK_HEAD, RANK_TEXT]
        return [_Class(*parts) for parts in zip(ranks, on_report, on_document, strict=True)]

    def any(self) -> Q:
        """Any of the classes, from a report."""
        return Q(search_document__document=self.query) | Q(
            search_document__identifiers__contains=[self.identifier]
        )


def matching_reports(user: AnyUser, text: str, filters: ReportFilters) -> QuerySet[Report]:
    """Visible reports matching `text` and the filters (the report list's, whose own title
    search is not used), best first: rank class, then newest."""
    match = _Match.of(text.strip()[:MAX_QUERY])
    if match is None:
        return Report.objects.none()
    return (
        list_reports(user, replace(filters, search=None))
        .filter(match.any())
        .annotate(
            rank=Case(
                *(When(c.on_report, then=Value(c.rank)) for c in match.classes()[:3]),
                default=Value(RANK_TEXT),
                output_field=FloatField(),
            )
        )
        .order_by("-rank", *NEWEST)
    )


def _class_ids(
    visible: QuerySet[Report], match_class: _Class, need: int
) -> tuple[list[Any], list[Any]]:
    """The newest `need` visible reports of one class, and the reports of the documents of the
    class read on the way (visible or not; up to FEW_MATCHES + 1)."""
    documents = SearchDocument.objects.filter(match_class.on_document)
    few = list(documents.values_list("report_id", "updated_at")[: FEW_MATCHES + 1])
    probed = [pk for pk, _ in few]
    if len(few) <= FEW_MATCHES:
        return _visible_in_order(visible, _newest_first(few), need), probed
    walked = _walk_newest(visible, match_class, need)
    if walked is not None:
        return walked, probed
    read = visible.filter(match_class.on_report).order_by(*NEWEST).values_list("pk", flat=True)
    return list(read[:need]), probed


def _newest_first(documents: list[tuple[Any, Any]]) -> list[Any]:
    """Report ids of (report_id, updated_at) pairs in NEWEST order (uuids compare as their
    bytes, as in PostgreSQL)."""
    return [pk for pk, _ in sorted(documents, key=lambda row: (row[1], row[0]), reverse=True)]


def _visible_in_order(visible: QuerySet[Report], ordered: list[Any], need: int) -> list[Any]:
    """The first `need` of `ordered` that are visible, checked a slice at a time: a reader who
    sees most reports is answered from the first slice instead of joining every match."""
    found: list[Any] = []
    step = max(need, 50)
    for start in range(0, len(ordered), step):
        part = ordered[start : start + step]
        seen = set(visible.filter(pk__in=part).values_list("pk", flat=True))
        found += [pk for pk in part if pk in seen]
        if len(found) >= need:
            break
    return found[:need]


def _walk_newest(visible: QuerySet[Report], match_class: _Class, need: int) -> list[Any] | None:
    """The newest `need` of a large class, found by reading the newest documents through their
    own index, a window at a time (each twice the last), and testing each against the class;
    None when WALK_LIMIT documents hold fewer (the matches are old: the caller reads them all).

    The planner cannot find this itself: it estimates the title condition at one row, and
    reads every match to sort them ("H200 Singapore": 15,873 documents, 240 ms). A walk reads
    about a microsecond a document; a match read at random costs some fifteen."""
    found: list[Any] = []
    after: tuple[Any, Any] | None = None
    walked, window = 0, WALK_WINDOW
    while walked < WALK_LIMIT:
        hits, last, read = _window_hits(match_class, after, window)
        found += _visible_in_order(visible, _newest_first(hits), need - len(found))
        walked += read
        if len(found) >= need or read < window or last is None:
            return found
        after, window = last, window * 2
    return None


def _window_hits(
    match_class: _Class, after: tuple[Any, Any] | None, size: int
) -> tuple[list[tuple[Any, Any]], tuple[Any, Any] | None, int]:
    """In the next `size` newest documents after the keyset `after`: (report_id, updated_at)
    of those matching the class, the keyset of the last document, and how many were read.
    Only the hits and the last row leave the database."""
    window = SearchDocument.objects.annotate(
        hit=ExpressionWrapper(match_class.on_document, output_field=BooleanField())
    )
    if after is not None:
        window = window.filter(
            RawSQL("(updated_at, report_id) < (%s, %s)", after, output_field=BooleanField())
        )
    rows = window.order_by("-updated_at", "-report_id").values("report_id", "updated_at", "hit")
    sql, params = rows[:size].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH w AS MATERIALIZED ({sql}) "  # noqa: S608  # Django's own compiled query
            "(SELECT report_id, updated_at, true, 0 FROM w WHERE hit) "
            "UNION ALL (SELECT report_id, updated_at, false, (SELECT count(*) FROM w) "
            "FROM w ORDER BY updated_at, report_id LIMIT 1)",
            params,
        )
        found = cursor.fetchall()
    hits = [(row[0], row[1]) for row in found if row[2]]
    tail = [row for row in found if not row[2]]
    if not tail:
        return hits, None, 0
    return hits, (tail[0][1], tail[0][0]), int(tail[0][3])


@dataclass(frozen=True)
class _Ranked:
    ranked: list[tuple[Any, float]]  # the best matches as (report id, rank), best first
    probed: list[Any]  # reports whose documents match, read by the class probes (distinct)


def _ranked_ids(user: AnyUser, match: _Match, filters: ReportFilters, wanted: int) -> _Ranked:
    """The best `wanted` matches, one class after the other, each newest first.

    One query per class, each with its limit, instead of ranking every match: a common name
    matches tens of thousands of reports, and reading all of them to rank them is what made
    such a search slow. (Reading up to FEW_MATCHES of all classes at once and ranking them in
    memory was tried: p95 163 ms against 118 ms, as common queries paid for a wasted read.)"""
    visible = list_reports(user, replace(filters, search=None))
    ranked: list[tuple[Any, float]] = []
    probed: list[Any] = []
    for match_class in match.classes():
        need = wanted - len(ranked)
        if need <= 0:
            break
        ids, read = _class_ids(visible, match_class, need)
        ranked += [(pk, match_class.rank) for pk in ids]
        probed += read  # the classes are disjoint: no report twice
    return _Ranked(ranked=ranked, probed=probed)


def _count(user: AnyUser, match: _Match, filters: ReportFilters, found: _Ranked) -> int:
    """Visible matching reports, capped at COUNT_CAP + 1. When the probes already read more
    than COUNT_CAP matching documents and the reader may see more than COUNT_CAP of them, that
    is the answer: checking those reports by id is cheaper than counting afresh, which reads
    every match's posting and document again (at 1,000,000 reports, search p95 99-113 ms
    against 133-144 ms for the recount on the same data and machine)."""
    visible = list_reports(user, replace(filters, search=None))
    sample = found.probed[: COUNT_CAP + 1]
    if len(sample) > COUNT_CAP and visible.filter(pk__in=sample).count() > COUNT_CAP:
        return COUNT_CAP + 1
    return visible.filter(match.any()).order_by()[: COUNT_CAP + 1].count()


def search(
    user: AnyUser, text: str, filters: ReportFilters, *, offset: int = 0, limit: int = 25
) -> SearchResults:
    """One page of matching reports, and on the first page the entities and cases named alike.

    The ranked ids are read once: the page, the count of a short answer and the entities all
    come from them (the entities from the best ENTITY_WITHIN reports)."""
    text = text.strip()[:MAX_QUERY]
    match = _Match.of(text)
    if match is None:
        return SearchResults(text=text, reports=[], count=0)
    wanted = max(offset + limit, ENTITY_WITHIN)
    found = _ranked_ids(user, match, filters, wanted)
    ranked = found.ranked
    ids = [pk for pk, _ in ranked]
    by_id = Report.objects.in_bulk(ids[offset : offset + limit])
    reports = []
    for pk, rank in ranked[offset : offset + limit]:
        if pk in by_id:
            setattr(by_id[pk], "rank", rank)  # noqa: B010  # an annotation the model lacks
            reports.append(by_id[pk])
    count = len(ids) if len(ids) < wanted else _count(user, match, filters, found)
    first_page = offset == 0
    return SearchResults(
        text=text,
        reports=reports,
        count=count,
        entities=_entities_in(ids[:ENTITY_WITHIN], text) if first_page else [],
        cases=search_visible_cases(user, text, limit=5) if first_page else [],
    )


# --------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------


def visible_links(user: AnyUser) -> QuerySet[ReportEntity]:
    """Entity links of the current versions of reports the user may see."""
    return ReportEntity.objects.filter(
        version__report__in=visible_reports(user).values("pk"),
        version__version=F("version__report__current_version"),
    )


def search_entities(user: AnyUser, text: str, limit: int = 8) -> list[Entity]:
    """Entities named like `text` in the best-matching reports the user may see, most alike
    first. Taken from those reports' links, so an entity is only ever offered through a report
    the user may read, and a misspelt name finds it as the reports' search does."""
    text = text.strip()[:MAX_QUERY]
    match = _Match.of(text)
    if match is None:
        return []
    found = _ranked_ids(user, match, ReportFilters(), ENTITY_WITHIN)
    return _entities_in([pk for pk, _ in found.ranked], text, limit)


def _entities_in(report_ids: list[Any], text: str, limit: int = 8) -> list[Entity]:
    """Entities linked from the current versions of these (visible) reports, named like text."""
    name = normalise_name(text)[:300]
    if len(name) < 3 or not report_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.id, max(word_similarity(%s::text, e.normalized_name)) AS alike "
            "FROM reports_reportentity l "
            "JOIN reports_reportversion v ON v.id = l.version_id "
            "JOIN reports_report r ON r.id = v.report_id AND r.current_version = v.version "
            "JOIN reports_entity e ON e.id = l.entity_id "
            "WHERE v.report_id = ANY(%s) "
            "GROUP BY e.id HAVING max(word_similarity(%s::text, e.normalized_name)) >= %s "
            "ORDER BY alike DESC, count(*) DESC, e.id LIMIT %s",
            [name, [str(pk) for pk in report_ids], name, ENTITY_ALIKE, limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
    found = Entity.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


@dataclass(frozen=True)
class EntityReport:
    report: Report
    roles: tuple[str, ...]


@dataclass
class EntityProfile:
    entity: Entity
    reports: list[EntityReport]
    report_count: int
    roles: list[tuple[str, int]]
    countries: list[str]
    first_seen: date | None
    last_seen: date | None
    cases: list[InvestigationCase]
    also_written: list[Entity]


ENTITY_PAGE_REPORTS = 50


def entity_profile(user: AnyUser, entity_id: int) -> EntityProfile | None:
    """Everything naming an entity that the user may see, or None when they may see nothing."""
    entity = Entity.objects.filter(pk=entity_id).first()
    if entity is None:
        return None
    links = visible_links(user).filter(entity=entity)
    roles = Counter(dict(links.values_list("role").annotate(n=Count("pk")).order_by()))
    if not roles:
        return None
    reports = _entity_reports(user, entity)
    seen = (
        visible_reports(user)
        .filter(pk__in=links.values("version__report_id"))
        .aggregate(
            first=Min(Coalesce("event_start", TruncDate("created_at"))),
            last=Max(Coalesce("event_end", "event_start", TruncDate("updated_at"))),
            count=Count("pk"),
        )
    )
    countries = _countries(user, entity, links)
    cases = list(
        visible_cases(user)
        .filter(members__report__in=links.values("version__report_id"))
        .distinct()
        .select_related("scored")
        .defer("features", "keys", "links")
        .order_by("-pk")[:20]
    )
    return EntityProfile(
        entity=entity,
        reports=reports,
        report_count=seen["count"],
        roles=roles.most_common(),
        countries=countries,
        first_seen=seen["first"],
        last_seen=seen["last"],
        cases=cases,
        also_written=_also_written(user, entity),
    )


def _entity_reports(user: AnyUser, entity: Entity) -> list[EntityReport]:
    rows = (
        visible_links(user)
        .filter(entity=entity)
        .values_list("version__report_id", "role")
        .order_by("-version__report__updated_at")[: ENTITY_PAGE_REPORTS * 4]
    )
    roles: dict[Any, list[str]] = {}
    for report_id, role in rows:
        roles.setdefault(report_id, []).append(role)
    ids = list(roles)[:ENTITY_PAGE_REPORTS]
    by_id = visible_reports(user).in_bulk(ids)
    return [EntityReport(by_id[pk], tuple(sorted(set(roles[pk])))) for pk in ids if pk in by_id]


def _countries(user: AnyUser, entity: Entity, links: QuerySet[ReportEntity]) -> list[str]:
    found = {entity.country} if entity.country else set()
    same_name = Entity.objects.filter(normalized_name=entity.normalized_name).exclude(country="")
    visible_same = visible_links(user).filter(entity=OuterRef("pk"))
    found.update(same_name.filter(Exists(visible_same)).values_list("country", flat=True))
    return sorted(found)


def _also_written(user: AnyUser, entity: Entity, limit: int = 10) -> list[Entity]:
    """Other entities (another kind or country, or a close spelling) that may be the same."""
    return [
        other
        for other in search_entities(user, entity.normalized_name, limit=limit + 1)
        if other.pk != entity.pk
    ][:limit]


# --------------------------------------------------------------------------------------------
# Pivots from one report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelatedReport:
    report: Report
    shared: tuple[str, ...]  # "serial H1000001", "consignee Harbourfront Logistics", ...


PIVOT_ROLES = ("consignee", "intermediary", "end_user", "registered_address", "officer")


def related_reports(user: AnyUser, report: Report, limit: int = 20) -> list[RelatedReport]:
    """Other visible reports sharing a serial, shipment reference or party with `report`."""
    shared: dict[Any, list[str]] = {}
    document = getattr(report, "search_document", None)
    identifiers = list(document.identifiers) if document is not None else []
    if identifiers:
        others = (
            visible_reports(user)
            .filter(search_document__identifiers__overlap=identifiers)
            .exclude(pk=report.pk)
            .values_list("pk", "search_document__identifiers")
            .order_by("-updated_at")[:limit]
        )
        mine = set(identifiers)
        for pk, theirs in others:
            shared.setdefault(pk, []).extend(sorted(mine & set(theirs)))
    own_links = ReportEntity.objects.filter(
        version__report=report,
        version__version=report.current_version,
        role__in=PIVOT_ROLES,
    ).select_related("entity")
    names = {link.entity_id: link.entity.name for link in own_links}
    if names:
        rows = (
            visible_links(user)
            .filter(entity_id__in=names)
            .exclude(version__report=report)
            .values_list("version__report_id", "entity_id", "role")
            .order_by("-version__report__updated_at")[: limit * 5]
        )
        for pk, entity_id, role in rows:
            label = f"{EntityRole(role).label.lower()} {names[entity_id]}"
            if label not in shared.get(pk, []):
                shared.setdefault(pk, []).append(label)
    by_id = visible_reports(user).in_bulk(list(shared)[:limit])
    return [
        RelatedReport(by_id[pk], tuple(reasons))
        for pk, reasons in list(shared.items())[:limit]
        if pk in by_id
    ]
