"""The production topology under load: two nodes over https through their own nginx (the
harness of tests/production/topology.py: gunicorn from its config file, one Celery pool per
queue, one locked beat, AOF Redis, production settings), against the plain-HTTP two-node
federation of federation_throughput.py measured in the same run.

1. bulk: with us's federation pool stopped, us publishes N reports; the pool starts and the rate
   is measured at uk, first to last stored report (the same measure as federation_throughput);
2. steady: us publishes at BENCH_RATE reports/s (default 500) for BENCH_SECONDS (default 120);
   each report's time from us's commit to its case at uk being scored (visible in the queue) is
   its latency; then every report is checked at uk: lost (missing) and duplicated (more than one
   version where one was sent).

    python tests/bench/production_topology.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from tests.production.topology import (  # noqa: E402
    ProductionNode,
    database_url,
    introduce,
    make_ca,
    redis_server,
)

N_BULK = int(os.environ.get("BENCH_REPORTS", "3000"))
RATE = float(os.environ.get("BENCH_RATE", "500"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "120"))


def plain_http_rate() -> float:
    """federation_throughput.py's bulk figure, run now on the same machine."""
    env = {**os.environ, "BENCH_REPORTS": str(N_BULK), "BENCH_STEADY_SECONDS": "2"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "bench" / "federation_throughput.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    match = re.search(r"reports_per_s=(\d+)", out.strip().splitlines()[-1])
    if not match:
        sys.exit(f"federation_throughput gave no RESULT:\n{out[-2000:]}")
    return float(match.group(1))


def main() -> None:
    baseline = plain_http_rate()
    print(f"plain HTTP (federation_throughput): {baseline:.0f} reports/s", flush=True)

    root = Path(tempfile.mkdtemp(prefix="production-bench-"))
    ca, cert, key = make_ca(root)
    redis, redis_port = redis_server(root / "redis")
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    nodes = {
        code: ProductionNode(
            code=code, root=root / code, database_url=database_url(base, f"e2e_bench_prod_{code}"),
            redis_url=f"redis://127.0.0.1:{redis_port}/{n}", ca=ca, cert=cert, key=key,
        )
        for n, code in enumerate(("us", "uk"))
    }  # fmt: skip
    for node in nodes.values():
        node.root.mkdir(parents=True)
    try:
        introduce(list(nodes.values()), root / "offline-root")
        for node in nodes.values():
            node.start_all()
        for node in nodes.values():
            node.manage("local_federation", "connect")
        measure(nodes, baseline)
    finally:
        for node in nodes.values():
            node.stop_all()
        redis.terminate()


def measure(nodes: dict[str, ProductionNode], baseline: float) -> None:
    us = nodes["us"]
    # This process publishes as us (its settings, database and keys) and reads uk's database.
    os.environ.update({k: v for k, v in us.env().items() if k != "PROMETHEUS_MULTIPROC_DIR"})
    import django

    django.setup()
    from django.conf import settings

    settings.DATABASES["uk"] = {**settings.DATABASES["default"], "NAME": "e2e_bench_prod_uk"}
    from django.contrib.auth.models import User

    from accounts.models import Role
    from accounts.services import create_user
    from cases.models import CaseMember
    from core.markings import Classification
    from reports.demo import demo_reports
    from reports.models import Report, ReportVersion, Status
    from reports.services import create_report

    author = User.objects.filter(username="bench").first() or create_user(
        username="bench", password=None, role=Role.RELEASER, clearance=Classification.SECRET
    )
    contents = [d.content for d in demo_reports("us", 200, seed=11)]
    fvey = [c for c in contents if c.classification != "SECRET" and (
        "fvey" in c.rel_to or "uk" in c.rel_to)]  # fmt: skip

    def held() -> int:
        return Report.objects.using("uk").filter(origin="us").count()

    us.kill("worker-federation")
    for i in range(N_BULK):
        create_report(author=author, content=fvey[i % len(fvey)], status=Status.PUBLISHED)
    us.start("worker-federation")
    deadline = time.monotonic() + 600
    while held() < N_BULK and time.monotonic() < deadline:
        time.sleep(0.2)
    stamps = sorted(
        Report.objects.using("uk").filter(origin="us").values_list("created_at", flat=True)
    )
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]).total_seconds()
    print(f"https bulk: {len(stamps)} stored at uk, {rate:.0f} reports/s", flush=True)

    count = int(RATE * SECONDS)
    ids = []
    start = time.perf_counter()
    for i in range(count):
        pause = start + i / RATE - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        version = create_report(author=author, content=fvey[i % len(fvey)], status=Status.PUBLISHED)
        ids.append(version.report_id)
    achieved = count / (time.perf_counter() - start)
    print(f"offered {RATE:.0f}/s, published {achieved:.0f}/s", flush=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        visible = CaseMember.objects.using("uk").filter(report_id__in=ids).count()
        if visible >= len(ids):
            break
        time.sleep(1)
    sent = dict(Report.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
    scored = dict(
        CaseMember.objects.using("uk")
        .filter(report_id__in=ids)
        .values_list("report_id", "case__scored__scored_at")
    )
    latencies = sorted(
        (scored[k] - sent[k]).total_seconds() * 1000 for k in scored if scored[k] is not None
    )
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    versions: dict[object, int] = {}
    for rid in (
        ReportVersion.objects.using("uk")
        .filter(report_id__in=ids)
        .values_list("report_id", flat=True)
    ):
        versions[rid] = versions.get(rid, 0) + 1
    lost = sum(1 for rid in ids if rid not in versions)
    duplicated = sum(1 for n in versions.values() if n > 1)
    steady_rate = (len(ids) - lost) / (time.perf_counter() - start)
    print(
        f"steady: {len(ids) - lost}/{len(ids)} at uk, p95 commit->scored {p95:.0f} ms, "
        f"lost {lost}, duplicated {duplicated}; https/plain bulk = {rate / baseline:.2f}",
        flush=True,
    )
    print(
        f"RESULT production_topology reports_per_s={rate:.0f} plain_http_per_s={baseline:.0f} "
        f"ratio={rate / baseline:.2f} steady_offered_per_s={RATE:.0f} "
        f"steady_published_per_s={achieved:.0f} steady_delivered_per_s={steady_rate:.0f} "
        f"p95_visible_ms={p95:.0f} lost={lost} duplicated={duplicated}"
    )


if __name__ == "__main__":
    main()
