"""Blocking grows linearly; big clusters are flagged, not grown; a common stem cannot snowball."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from riskscore.linkage import LinkageConfig, cluster_reports
from riskscore.linkage.blocking import candidate_pairs, record_keys
from riskscore.linkage.records import extract

from .linkage_helpers import shipment


def _common_stem_reports(n: int) -> list[dict[str, object]]:
    return [
        shipment(
            f"r{i:05d}",
            f"Apex {['Technology', 'Logistics', 'Trading'][i % 3]} Ltd",
            day=(date(2024, 1, 1) + timedelta(days=2 * i)).isoformat(),
            address="1 Raffles Place #20-61",  # one formation agent for everybody
            model="H100",
            quantity=8 * (1 + i % 40),
        )
        for i in range(n)
    ]


def _pairs_per_report(n: int) -> float:
    records = [extract(r) for r in _common_stem_reports(n)]
    day = np.array([r.day or 0 for r in records], np.int64)
    left, _right = candidate_pairs([record_keys(r) for r in records], day, 16, 6)
    return len(left) / n


def test_candidate_pairs_grow_linearly_even_when_every_report_shares_keys() -> None:
    small, large = _pairs_per_report(400), _pairs_per_report(1600)
    assert large <= small * 1.2
    assert large < 40  # all pairs would be 800 per report


def test_a_common_stem_and_a_formation_agent_address_do_not_snowball() -> None:
    result = cluster_reports(_common_stem_reports(600))
    assert max(len(c.report_ids) for c in result.clusters) <= 6


def test_a_cluster_that_would_outgrow_the_limit_is_flagged_not_grown() -> None:
    reports = [
        shipment(f"r{i}", "Zhenbao Quantum Logistics Ltd", day="2026-09-01", model="H100")
        for i in range(12)
    ]
    result = cluster_reports(reports, config=LinkageConfig(max_cluster=5))
    assert max(len(c.report_ids) for c in result.clusters) <= 5
    assert any(c.flagged for c in result.clusters)
