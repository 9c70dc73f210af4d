"""Federation soak: N minutes of steady publishing across three namespaced nodes (us, uk, jp),
each with its own PostgreSQL and Redis, with the fault schedule of the fault suite run round
after round: a partner's web down and back, a worker SIGKILL, Redis restarted and flushed,
PostgreSQL crashed and restarted, a partition with a key rotation and a revocation during it,
and a relay while the direct path is suspended; jp's clock runs 20 s ahead throughout.

After each fault the script waits until every entitled report published so far is held
everywhere it should be (that wait is the fault's convergence time); at the end, with
publishing stopped, the checker compares every node's database with the oracle of
tests/faults/scenario.py. Needs root (network namespaces); run from the repository root:

    python tests/bench/federation_soak.py        (SOAK_MINUTES=10, SOAK_RATE=2 per node)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from tests.faults.scenario import lab_running, run_round  # noqa: E402

MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))
RATE = float(os.environ.get("SOAK_RATE", "2"))


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="federation-soak-"))
    with lab_running(folder) as lab:
        started = time.monotonic()
        lab.start_publishing(RATE, seconds=MINUTES * 60, label="s")
        rounds, converge, revocations = 0, [], []
        while time.monotonic() - started < MINUTES * 60 - 60:
            result = run_round(lab, converge_timeout=300)
            rounds += 1
            converge.append(result.max_converge_s)
            revocations.append(result.revocation_s)
            print(f"round {rounds}: converge_s={result.converge_s}", flush=True)
        lab.wait_publishers()
        final_s, tally = lab.converge(timeout=300)
        converge.append(final_s)
    for line in tally.details[:20]:
        print(line)
    print(
        f"logs in {folder}; rounds={rounds} max_revocation_s={max(revocations, default=0):.1f} "
        f"minutes={MINUTES} rate_per_node={RATE}"
    )
    print(
        f"RESULT federation_soak published={tally.published} "
        f"entitled_deliveries={tally.entitled_deliveries} lost={tally.lost} "
        f"duplicated={tally.duplicated} leaked={tally.leaked} "
        f"false_leak_flags={tally.false_leak_flags} max_converge_s={max(converge):.1f}"
    )


if __name__ == "__main__":
    main()
