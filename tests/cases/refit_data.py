"""Dispositions that carry signal, for the refit tests: closed cases whose stored features are
set directly. Every feature is noise except SIGNAL, which is high on most confirmed cases and
low on most dismissed ones, so a refit must raise its weight."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from cases.models import Case, CaseScore, CaseStatus
from core.markings import Classification
from riskscore.features import DEFAULT_CONFIG

SIGNAL = "transshipment_hub"  # hand-set weight 0.0825: barely counts before the refit


def disposed_cases(
    confirmed: int,
    dismissed: int,
    *,
    seed: int = 7,
    level: Classification = Classification.OFFICIAL,
) -> list[Case]:
    """Closed cases (with a stored score each, as scored cases have) and one open case."""
    rng = np.random.default_rng(seed)
    column = DEFAULT_CONFIG.index(SIGNAL)
    labels = [1] * confirmed + [0] * dismissed + [None]
    cases = []
    for n, label in enumerate(labels):
        x = rng.uniform(0.0, 1.0, DEFAULT_CONFIG.n_features)
        x[: DEFAULT_CONFIG.index("screening_match")] = 0.0  # category indicators off
        hit = rng.uniform() < (0.85 if label == 1 else 0.15)
        x[column] = 1.0 if hit else 0.0
        status = {1: CaseStatus.CLOSED_CONFIRMED, 0: CaseStatus.CLOSED_DISMISSED}.get(
            -1 if label is None else label, CaseStatus.NEW
        )
        cases.append(
            Case(
                title=f"Invented case {n}",
                category="chip_diversion",
                classification=level,
                features=x.astype("<f8").tobytes(),
                status=status,
                disposition_reason="invented for the refit tests" if label is not None else "",
            )
        )
    made = Case.objects.bulk_create(cases)
    CaseScore.objects.bulk_create(
        [
            CaseScore(
                case=case,
                classification=case.classification,
                score=0.0,
                baseline=0.0,
                config_version=DEFAULT_CONFIG.version,
                scored_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            for case in made
        ]
    )
    return made
