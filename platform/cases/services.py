"""Writes for cases: grouping, features and scores. The numpy work is in `riskscore`; this
module reads reports, calls it, and stores what it returns."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from core.markings import Classification
from reports.models import Report, ReportVersion, Status
from riskscore.engine import ScoringConfig, score
from riskscore.explain import explain_row, group_of, rounded_points
from riskscore.features import DEFAULT_CONFIG, build_features
from riskscore.grouping import MayLink, exact_keys, group_reports
from riskscore.matching import ScreeningIndex

from .documents import report_documents
from .models import (
    Case,
    CaseMember,
    CaseOverride,
    CaseScore,
    ScoringConfigVersion,
    ScreeningList,
)
from .screening import active_index

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


def queue_scoring(versions: Sequence[ReportVersion]) -> None:
    """VERSION_HOOK: rescore the reports' cases after the versions commit, in one task: a
    received batch of 100 reports is one message on the scoring queue, not 100 (publishing
    them one by one took ~30% of the inbox's time)."""
    report_ids = list(dict.fromkeys(str(v.report_id) for v in versions if v.status != Status.DRAFT))
    if not report_ids:
        return
    from .tasks import score_reports

    transaction.on_commit(lambda: score_reports.delay(report_ids))


def active_config() -> ScoringConfig:
    row = ScoringConfigVersion.objects.filter(active=True).first()
    return ScoringConfig.from_dict(row.config) if row else DEFAULT_CONFIG


@transaction.atomic
def activate_config(data: dict[str, Any], *, note: str = "", user: Any = None) -> ScoringConfig:
    """Validate and activate a new configuration (weights, priors, decay)."""
    config = ScoringConfig.from_dict(data)
    if ScoringConfigVersion.objects.filter(version=config.version).exists():
        raise ValueError(f"configuration version {config.version} exists; give a new version")
    ScoringConfigVersion.objects.filter(active=True).update(active=False)
    ScoringConfigVersion.objects.create(
        version=config.version, config=config.to_dict(), active=True, note=note, created_by=user
    )
    from .tasks import rescore_all_task

    transaction.on_commit(rescore_all_task.delay)
    return config


def _level(doc: Mapping[str, Any]) -> int:
    return int(Classification[doc["markings"]["classification"]])


def _keys(doc: dict[str, Any]) -> list[str]:
    return sorted({f"{reason}:{key}" for reason, key in exact_keys(doc)})


def _apart_pairs() -> set[frozenset[str]]:
    return {
        frozenset((str(a), str(b)))
        for a, b in CaseOverride.objects.filter(kind=CaseOverride.KEEP_APART).values_list(
            "report_a_id", "report_b_id"
        )
    }


def _may_link(apart: set[frozenset[str]]) -> MayLink:
    def may_link(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
        # Never across a marking boundary: a case is seen whole or not at all.
        if _level(a) != _level(b):
            return False
        return frozenset((str(a["id"]), str(b["id"]))) not in apart

    return may_link


def _case_fields(docs: Sequence[dict[str, Any]], links: Iterable[Any]) -> dict[str, Any]:
    titles = sorted(docs, key=lambda d: d.get("reported_at") or "", reverse=True)
    categories = {d["category"] for d in docs}
    countries = sorted({c for d in docs for c in _countries(d)})
    events = [d.get("event_end") or d.get("event_start") for d in docs]
    latest = max((e for e in events if e), default=None)
    return {
        "title": titles[0]["title"][:200],
        "category": categories.pop() if len(categories) == 1 else "mixed",
        "classification": max(_level(d) for d in docs),
        "keys": sorted({k for d in docs for k in _keys(d)}),
        "countries": countries,
        "origins": sorted({d["origin"] for d in docs}),
        "report_count": len(docs),
        "links": [_link_json(link) for link in links],
        "latest_event": date.fromisoformat(latest) if latest else None,
    }


def _link_json(link: Any) -> dict[str, Any]:
    """A grouping Link, or one already stored as JSON (merges carry stored links along)."""
    if isinstance(link, dict):
        return dict(link)
    return {
        "a": link.a,
        "b": link.b,
        "reason": link.reason,
        "detail": link.detail,
        "score": link.score,
    }


def _countries(doc: dict[str, Any]) -> set[str]:
    details = doc.get("details") or {}
    found = set(details.get("route") or [])
    for key in (
        "consignee",
        "declared_end_user",
        "suspected_end_user",
        "organisation",
        "customer",
        "provider",
    ):
        party = details.get(key)
        if isinstance(party, dict) and party.get("country"):
            found.add(party["country"])
    return found


def _explained(config: ScoringConfig, features: np.ndarray) -> dict[str, Any]:
    """Every contribution of every row (riskscore.explain: grouped, summing exactly)."""
    result = score(features, None, config, top_k=None, explain="all")
    rows = [_stored(explain_row(result, i)) for i in range(features.shape[0])]
    return {"rows": rows, "version": config.version}


def _stored(explanation: dict[str, Any]) -> dict[str, Any]:
    keep = ("feature", "group", "points", "value", "missing")
    return {
        "score": explanation["score"],
        "baseline": explanation["baseline"],
        "contributions": [{k: c[k] for k in keep} for c in explanation["contributions"]],
    }


def _store_features(
    cases: Sequence[Sequence[dict[str, Any]]],
    config: ScoringConfig,
    screening: ScreeningIndex | None,
) -> tuple[np.ndarray, dict[str, Any]]:
    matrix = build_features(cases, screening=screening, config=config)
    return matrix.X, _explained(config, matrix.X)


def _as_bytes(row: np.ndarray) -> bytes:
    return np.ascontiguousarray(row, dtype="<f8").tobytes()


def features_of(case: Case) -> np.ndarray:
    return np.frombuffer(bytes(case.features), dtype="<f8")


@transaction.atomic
def score_report_case(report_id: str) -> Case | None:
    """Incremental: put one report in its case (merging cases that share an exact key with it,
    at the same marking level) and rescore that case only."""
    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        return None
    member = CaseMember.objects.select_related("case").filter(report=report).first()
    docs = report_documents([report_id])
    if not docs or report.status == Status.WITHDRAWN:
        if member is not None:
            _rebuild_case_without(member)
        return None
    doc = docs[0]
    keys = _keys(doc)
    related = Case.objects.select_for_update().filter(classification=_level(doc))
    related = related.filter(keys__overlap=keys) if keys else related.none()
    cases = list(related)
    if member is not None and member.case not in cases:
        cases.append(member.case)
    report_ids = {str(report_id)} | {
        str(r)
        for r in CaseMember.objects.filter(case__in=cases).values_list("report_id", flat=True)
    }
    apart = _apart_pairs()
    documents = report_documents(report_ids)
    grouping = group_reports(documents, may_link=_may_link(apart))
    target = next(c for c in grouping.cases if str(report_id) in c.report_ids)
    keep = cases[0] if cases else Case(classification=_level(doc))
    for other in cases[1:]:
        other.delete()
    by_id = {d["id"]: d for d in documents}
    case_docs = [by_id[rid] for rid in target.report_ids]
    config = active_config()
    features, explained = _store_features([case_docs], config, active_index())
    _apply(keep, case_docs, target.links, features[0])
    _save_scored(keep, explained["rows"][0], config.version)
    CaseMember.objects.filter(report_id__in=target.report_ids).delete()
    CaseMember.objects.bulk_create(
        [
            CaseMember(case=keep, report_id=rid, classification=keep.classification)
            for rid in target.report_ids
        ]
    )
    # Reports of merged-away cases that did not join this one get their own cases again.
    leftovers = report_ids - set(target.report_ids) - {str(report_id)}
    for rid in leftovers:
        transaction.on_commit(partial(_requeue, rid))
    return keep


def _requeue(report_id: str) -> None:
    from .tasks import score_report

    score_report.delay(report_id)


def _rebuild_case_without(member: CaseMember) -> None:
    case = member.case
    member.delete()
    remaining = [str(r) for r in case.members.values_list("report_id", flat=True)]
    case.delete()
    for rid in remaining:
        transaction.on_commit(partial(_requeue, rid))


def _apply(
    case: Case,
    docs: Sequence[dict[str, Any]],
    links: Iterable[Any],
    features: np.ndarray,
) -> None:
    for key, value in _case_fields(docs, links).items():
        setattr(case, key, value)
    case.features = _as_bytes(features)


def _score_row(case: Case, explained: dict[str, Any], version: str) -> CaseScore:
    return CaseScore(
        case=case,
        classification=case.classification,
        score=explained["score"],
        baseline=explained["baseline"],
        contributions=explained["contributions"],
        config_version=version,
        scored_at=timezone.now(),
    )


def _save_scored(case: Case, explained: dict[str, Any], version: str) -> None:
    case.save()
    row = _score_row(case, explained, version)
    CaseScore.objects.update_or_create(
        case=case,
        defaults={
            f: getattr(row, f)
            for f in (
                "classification",
                "score",
                "baseline",
                "contributions",
                "config_version",
                "scored_at",
            )
        },
    )


def regroup_all(progress: Progress | None = None, chunk: int = 5000) -> int:
    """Full regrouping (exact and fuzzy links) and scoring of every report. Returns cases."""
    started = time.monotonic()
    documents = [d for d in report_documents() if d["status"] != Status.DRAFT]
    grouping = group_reports(documents, may_link=_may_link(_apart_pairs()))
    config = active_config()
    screening = active_index()
    by_id = {d["id"]: d for d in documents}
    cases = [[by_id[rid] for rid in case.report_ids] for case in grouping.cases]
    with transaction.atomic():
        CaseMember.objects.all().delete()
        Case.objects.all().delete()
        for begin in range(0, len(cases), chunk):
            part = cases[begin : begin + chunk]
            features, explained = _store_features(part, config, screening)
            rows = []
            for offset, docs in enumerate(part):
                case = Case()
                _apply(case, docs, grouping.cases[begin + offset].links, features[offset])
                rows.append(case)
            Case.objects.bulk_create(rows)
            CaseScore.objects.bulk_create(
                [
                    _score_row(case, explained["rows"][n], config.version)
                    for n, case in enumerate(rows)
                ]
            )
            CaseMember.objects.bulk_create(
                [
                    CaseMember(case=case, report_id=d["id"], classification=case.classification)
                    for case, docs in zip(rows, part, strict=True)
                    for d in docs
                ]
            )
            if progress:
                progress(min(begin + chunk, len(cases)), len(cases))
    log.info(
        "regrouped %d reports into %d cases in %.1f s",
        len(documents),
        len(cases),
        time.monotonic() - started,
    )
    return len(cases)


def rescore_all(progress: Progress | None = None, chunk: int = 50_000) -> int:
    """Score every case from its stored features with the active configuration (after a
    weights change): read features, score in numpy, write scores and explanations."""
    config = active_config()
    total = Case.objects.count()
    done = 0
    last_id = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, features FROM cases_case WHERE id > %s ORDER BY id LIMIT %s",
                [last_id, chunk],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        ids = [r[0] for r in rows]
        width = config.n_features
        X = np.full((len(rows), width), np.nan)
        for i, (_, features) in enumerate(rows):
            if features is not None and len(features) == 8 * width:
                X[i] = np.frombuffer(features, dtype="<f8")
        result = score(X, None, config, top_k=None, explain="all")
        _write_scores(ids, result, config.version)
        done += len(rows)
        last_id = ids[-1]
        if progress:
            progress(done, total)
    return done


def _write_scores(ids: list[int], result: Any, version: str) -> None:
    """One UPDATE ... FROM (VALUES) per chunk: scores, baselines and top contributions."""
    import json

    names = [json.dumps(name) for name in result.feature_names]
    groups = [json.dumps(group_of(name)) for name in result.feature_names]
    units, score_units, base_units = rounded_points(result)
    values = np.round(result.values.astype(np.float64), 4)
    missing = result.missing
    payload = []
    # JSON written directly: building 100,000 lists of dicts and dumping them cost more than
    # the scoring itself. Every contribution is stored; the shown points add up exactly.
    for i, case_id in enumerate(ids):
        parts = []
        row_units = units[i].tolist()
        for j in np.argsort(-np.abs(units[i]), kind="stable").tolist():
            value = "null" if missing[i, j] else repr(float(values[i, j]))
            flag = "true" if missing[i, j] else "false"
            parts.append(
                f'{{"feature": {names[j]}, "group": {groups[j]}, '
                f'"points": {row_units[j] / 1000!r}, "value": {value}, "missing": {flag}}}'
            )
        payload.append((case_id, int(score_units[i]) / 1000, "[" + ", ".join(parts) + "]"))
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS case_scores "
            "(id bigint, score double precision, contributions jsonb) ON COMMIT DROP"
        )
        with cursor.copy("COPY case_scores (id, score, contributions) FROM STDIN") as copy:
            for row in payload:
                copy.write_row(row)
        cursor.execute(
            "UPDATE cases_casescore c SET score = s.score, contributions = s.contributions, "
            "baseline = %s, config_version = %s, scored_at = %s "
            "FROM case_scores s WHERE c.case_id = s.id",
            [base_units / 1000, version, now],
        )


@transaction.atomic
def merge_cases(case_ids: Sequence[int], user: Any) -> Case:
    """Analyst merge: keep the reports together from now on (same marking level only)."""
    found = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=case_ids)}
    cases = [found[pk] for pk in dict.fromkeys(case_ids) if pk in found]  # the first one stays
    if len(cases) < 2:
        raise ValueError("give at least two cases to merge")
    if len({c.classification for c in cases}) != 1:
        raise ValueError(
            "cases at different classifications are not merged: the merged case "
            "would show reports to users who may not see them"
        )
    reports = [
        str(r)
        for r in CaseMember.objects.filter(case__in=cases).values_list("report_id", flat=True)
    ]
    CaseOverride.objects.filter(
        kind=CaseOverride.KEEP_APART, report_a_id__in=reports, report_b_id__in=reports
    ).delete()
    anchor = reports[0]
    CaseOverride.objects.bulk_create(
        [
            CaseOverride(
                report_a_id=anchor,
                report_b_id=rid,
                kind=CaseOverride.KEEP_TOGETHER,
                created_by=user,
            )
            for rid in reports[1:]
        ]
    )
    keep = cases[0]
    merged_links = [link for case in cases for link in case.links]  # every case's evidence
    CaseMember.objects.filter(case__in=cases[1:]).update(case=keep)
    for other in cases[1:]:
        other.delete()
    docs = report_documents(reports)
    config = active_config()
    features, explained = _store_features([docs], config, active_index())
    _apply(keep, docs, merged_links, features[0])
    _save_scored(keep, explained["rows"][0], config.version)
    return keep


@transaction.atomic
def split_case(case_id: int, report_ids: Sequence[str], user: Any) -> list[Case]:
    """Analyst split: the given reports leave the case and are kept apart from the rest."""
    case = Case.objects.select_for_update().get(pk=case_id)
    members = {str(r) for r in case.members.values_list("report_id", flat=True)}
    leaving = {str(r) for r in report_ids}
    if not leaving or not leaving < members:
        raise ValueError("name some, but not all, of the case's reports")
    staying = members - leaving
    CaseOverride.objects.bulk_create(
        [
            CaseOverride(
                report_a_id=a, report_b_id=b, kind=CaseOverride.KEEP_APART, created_by=user
            )
            for a in sorted(leaving)
            for b in sorted(staying)
        ]
    )
    config = active_config()
    screening = active_index()
    result = []
    for group, target in ((sorted(staying), case), (sorted(leaving), Case())):
        docs = report_documents(group)
        features, explained = _store_features([docs], config, screening)
        _apply(target, docs, [], features[0])
        _save_scored(target, explained["rows"][0], config.version)
        CaseMember.objects.filter(report_id__in=group).update(case=target)
        result.append(target)
    return result


def score_is_number(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def import_active_list(list_row: ScreeningList) -> None:
    """Make `list_row` the active screening list (the previous one stays until this commits)."""
    with transaction.atomic():
        ScreeningList.objects.filter(active=True).exclude(pk=list_row.pk).update(active=False)
        ScreeningList.objects.filter(pk=list_row.pk).update(active=True)
