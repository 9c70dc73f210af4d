"""Offline scoring: a JSON-lines file of reports in, one JSON line per case out, best first.

The Django management command wraps :func:`score_jsonl`; this module needs no database so the
same pipeline runs in tests, benchmarks and on an analyst's laptop with an exported file.
Pipeline: read -> group (``grouping``) -> features (``features``) -> score (``engine``) -> write.
Output lines are written to a temporary file and renamed, so a failed run leaves no half file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskscore import domain
from riskscore.engine import ScoringConfig, score
from riskscore.features import DEFAULT_CONFIG, build_features
from riskscore.grouping import group_reports, reports_by_case
from riskscore.matching import ScreeningIndex
from riskscore.screening_formats import load_screening_file

__all__ = ["OfflineInputError", "OfflineSummary", "read_jsonl", "score_jsonl"]

TOP_CONTRIBUTIONS = 8


class OfflineInputError(ValueError):
    """A reports file that cannot be read; names the line."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class OfflineSummary:
    reports: int  # lines read (copies included)
    cases: int
    ignored: tuple[str, ...]  # withdrawn report ids
    config_version: str
    exportcontrol_available: bool  # False: item/geography features fell back to "missing"


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Report dicts from a JSON-lines file; blank lines are skipped."""
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise OfflineInputError(number, f"invalid JSON: {exc.msg}") from None
            if not isinstance(value, dict):
                raise OfflineInputError(number, "expected a JSON object (one report per line)")
            yield value


def _round(value: float) -> float:
    return round(float(value), 6)


def score_jsonl(
    in_path: str | Path,
    out_path: str | Path,
    screening_path: str | Path | None = None,
    config: ScoringConfig | None = None,
    now: datetime | None = None,
) -> OfflineSummary:
    """Score the reports in ``in_path`` and write ranked cases to ``out_path`` (JSON lines)."""
    config = config or DEFAULT_CONFIG
    now = now or datetime.now(UTC)
    reports = list(read_jsonl(in_path))
    screening = (
        ScreeningIndex.build(load_screening_file(screening_path)) if screening_path else None
    )
    grouping = group_reports(reports)
    cases = reports_by_case(grouping, reports)
    matrix = build_features(
        cases, screening, now, config, case_ids=[c.case_id for c in grouping.cases]
    )
    result = score(matrix.X, matrix.missing, config, None, explain="all")

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for rank, row in enumerate(result.order.tolist(), start=1):
                case = grouping.cases[row]
                explanation = result.explain(row, top=TOP_CONTRIBUTIONS)
                line = {
                    "rank": rank,
                    "case_id": case.case_id,
                    "score": _round(result.scores[row]),
                    "baseline": _round(result.baseline),
                    "config_version": config.version,
                    "report_ids": list(case.report_ids),
                    "relayed_by": {k: list(v) for k, v in case.relayed_by.items() if v},
                    "links": [
                        {
                            "a": link.a,
                            "b": link.b,
                            "reason": link.reason,
                            "detail": link.detail,
                            "score": link.score,
                            "weight": link.weight,
                            "evidence": [
                                {
                                    "field": e.field,
                                    "outcome": e.outcome,
                                    "weight": e.weight,
                                    "a": e.a,
                                    "b": e.b,
                                }
                                for e in link.evidence
                            ],
                        }
                        for link in case.links
                    ],
                    "flagged": case.flagged,
                    "top_contributions": [
                        {
                            "feature": c.feature,
                            "value": None if c.missing else _round(c.value),
                            "imputed_value": _round(c.value) if c.missing else None,
                            "points": _round(c.points),
                            "missing": c.missing,
                        }
                        for c in explanation.contributions
                    ],
                    "missing_features": [
                        name
                        for j, name in enumerate(result.feature_names)
                        if bool(result.missing[row, j])
                    ],
                }
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return OfflineSummary(
        reports=len(reports),
        cases=len(grouping.cases),
        ignored=grouping.ignored,
        config_version=config.version,
        exportcontrol_available=domain.available(),
    )
