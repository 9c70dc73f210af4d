"""Linkage speed: clustering block-connected chunks of ~2,000 reports, as a full regroup does.

The case layer regroups by feeding ``cluster_reports`` neighbourhoods (reports sharing blocking
keys) with one ``NameStats`` for the whole node. This script builds chunks from the grouping
benchmark's generator (each seed's world is one connected neighbourhood of ~2,000 reports),
builds the stats once over all of them, and times ``cluster_reports`` over every chunk. Figures:
CPU and wall seconds, microseconds per report, the extrapolation to 1,000,000 reports (the work
is per chunk, so it is linear), and peak RSS. The stats build is timed separately.

Run: .venv/bin/python tests/bench/linkage_speed.py [--chunks 50] [--cases-per-chunk 700]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

from riskscore.linkage import NameStats, cluster_reports  # noqa: E402
from tests.bench.grouping_world import generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=50)
    parser.add_argument("--cases-per-chunk", type=int, default=700)
    args = parser.parse_args()
    chunks = [generate(1000 + k, args.cases_per_chunk).reports for k in range(args.chunks)]
    n_reports = sum(len(c) for c in chunks)
    started = time.perf_counter()
    stats = NameStats.from_reports(r for chunk in chunks for r in chunk)
    stats_seconds = time.perf_counter() - started
    wall, cpu = time.perf_counter(), time.process_time()
    clusters = 0
    for chunk in chunks:
        clusters += len(cluster_reports(chunk, stats=stats).clusters)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per_report = cpu / n_reports
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"reports={n_reports} chunks={len(chunks)} clusters={clusters} "
        f"stats_seconds={stats_seconds:.1f} cluster_wall_seconds={wall:.1f} "
        f"cluster_cpu_seconds={cpu:.1f}"
    )
    print(
        f"RESULT linkage_speed reports={n_reports} us_per_report={per_report * 1e6:.0f} "
        f"per_million_cpu_seconds={per_report * 1e6:.0f} peak_rss_mb={peak_mb:.0f}"
    )


if __name__ == "__main__":
    main()
