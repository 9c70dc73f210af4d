"""Issue 11, the bounded fault suite: one round of every fault under steady publishing across
three namespaced nodes, then the checker over every node's database (see scenario.py).

The longer soak is `tests/bench/federation_soak.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.scenario import REVOCATION_DEADLINE_S, Lab, lab_running, run_round

pytestmark = pytest.mark.e2e

RATE = 1.5  # reports a second from each of the three nodes
PUBLISH_S = 600  # outlasts the schedule (every fault happens under load); stopped after it
CONVERGE_LIMIT_S = 30.0


def test_every_fault_once_loses_duplicates_and_leaks_nothing(tmp_path: Path) -> None:
    lab: Lab
    with lab_running(tmp_path) as lab:
        lab.start_publishing(RATE, seconds=PUBLISH_S, label="b")
        result = run_round(lab, converge_timeout=120)
        lab.stop_publishing()
        converge_s, final = lab.converge(timeout=120)
        print(
            f"fault suite: published={final.published} entitled={final.entitled_deliveries} "
            f"converge_s={result.converge_s} final_converge_s={converge_s:.1f} "
            f"revocation_s={result.revocation_s:.1f}"
        )
        assert final.published > 200, "the load really ran"
        assert final.entitled_deliveries > 100
        assert (final.lost, final.duplicated, final.leaked, final.false_leak_flags) == (
            0,
            0,
            0,
            0,
        ), final.details[:20]
        assert result.tally.leaked == 0
        assert result.tally.duplicated == 0
        assert result.revocation_s <= REVOCATION_DEADLINE_S
        assert result.max_converge_s <= CONVERGE_LIMIT_S, result.converge_s
