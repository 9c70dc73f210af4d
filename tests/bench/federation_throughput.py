"""Federation throughput and latency between two real nodes on this machine.

Starts `us` and `uk` (gunicorn + Celery worker each, own databases, own keys), then:
1. bulk: with us's worker stopped, us publishes N reports (signed, owed to uk in the outbox);
   the worker starts and the rate is measured at uk, first to last stored report
   (delivered, request-verified, envelope-verified, entitlement-checked, stored);
2. latency: with everything running, us publishes at a steady offered load; each report's
   latency is uk's store time minus us's publish commit time;
3. crypto only: sign + canonicalise + strict parse + verify of the same envelopes, one core,
   no HTTP and no database; the end-to-end rate is reported as a ratio of it.

    python tests/bench/federation_throughput.py          (BENCH_REPORTS=3000, BENCH_RATE=50)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from federation.devnet import NODE_ORDER, LocalFederation  # noqa: E402

N_BULK = int(os.environ.get("BENCH_REPORTS", "3000"))
RATE = float(os.environ.get("BENCH_RATE", "50"))
STEADY_SECONDS = float(os.environ.get("BENCH_STEADY_SECONDS", "10"))
REDIS_OFFSET = 12


def main() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    net = LocalFederation(
        ["us", "uk"],
        base_port=port,
        db_prefix="e2e_bench_",
        redis_offset=REDIS_OFFSET,
        data_root=ROOT / "var" / "bench" / "nodes",
        log_dir=ROOT / "var" / "bench" / "logs",
        extra_env={
            "FEDERATION_BATCH_SIZE": os.environ.get("BENCH_BATCH", "100"),
            "FEDERATION_PARALLEL_BATCHES": os.environ.get("BENCH_PARALLEL", "2"),
        },
        web_workers=int(os.environ.get("BENCH_WEB_WORKERS", "2")),
        worker_concurrency=2,
        # Delivery, verification and storage only: the scoring queue (its own worker pool in a
        # deployment) is measured by scoring_pipeline.py and would compete for the same 2 cores.
        worker_queues="default,federation",
    )
    print("preparing two nodes...", flush=True)
    net.prepare(fresh=True)
    # This process acts as us's publisher, with us's settings, database and keys.
    os.environ.update(net.nodes["us"].env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    import redis
    from django.conf import settings

    base = settings.REDIS_URL.rsplit("/", 1)[0]
    for index in (REDIS_OFFSET + NODE_ORDER.index("us"), REDIS_OFFSET + NODE_ORDER.index("uk")):
        redis.Redis.from_url(f"{base}/{index}").flushdb()
    settings.DATABASES["uk"] = {**settings.DATABASES["default"], "NAME": "e2e_bench_uk"}
    if "DATABASE_URL" in net.nodes["uk"].env:
        from config.env import database_from_url

        # Over the configured default, so the keys Django fills in at start-up (OPTIONS,
        # TIME_ZONE, ...) are there for a connection added afterwards.
        settings.DATABASES["uk"] = {
            **settings.DATABASES["default"],
            **database_from_url("DATABASE_URL", net.nodes["uk"].env["DATABASE_URL"]),
        }
    try:
        net.start()
        net.connect()
        run(net)
    finally:
        net.stop()


def run(net: LocalFederation) -> None:
    from django.contrib.auth.models import User

    from accounts.models import Role
    from accounts.services import create_user
    from core.markings import Classification
    from federation.models import Envelope
    from federation.protocol.bench_support import crypto_roundtrip_rate
    from reports.demo import demo_reports
    from reports.models import Report, Status
    from reports.services import create_report

    author = User.objects.filter(username="bench").first() or create_user(
        username="bench", password=None, role=Role.RELEASER, clearance=Classification.SECRET
    )
    contents = [d.content for d in demo_reports("us", 200, seed=11)]
    fvey = [c for c in contents if "uk" in _expand(c.rel_to) and c.classification != "SECRET"]

    def publish(i: int) -> None:
        create_report(author=author, content=fvey[i % len(fvey)], status=Status.PUBLISHED)

    def held_at_uk() -> int:
        return Report.objects.using("uk").filter(origin="us").count()

    # 1. bulk throughput
    net.stop_worker("us")
    started = time.perf_counter()
    for i in range(N_BULK):
        publish(i)
    publish_rate = N_BULK / (time.perf_counter() - started)
    print(f"published {N_BULK} at us ({publish_rate:.0f}/s, sign + outbox included)", flush=True)
    net.start_worker("us")
    deadline = time.monotonic() + 600
    while held_at_uk() < N_BULK and time.monotonic() < deadline:
        time.sleep(0.2)
    stamps = list(
        Report.objects.using("uk")
        .filter(origin="us")
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(stamps) < N_BULK:
        sys.exit(f"only {len(stamps)} of {N_BULK} reports reached uk")
    span = (stamps[-1] - stamps[0]).total_seconds()
    reports_per_s = (len(stamps) - 1) / span
    print(f"bulk: {len(stamps)} stored at uk in {span:.2f} s = {reports_per_s:.0f}/s", flush=True)

    # 2. latency at a steady offered load
    count = int(RATE * STEADY_SECONDS)
    before = held_at_uk()
    ids = []
    start = time.perf_counter()
    for i in range(count):
        target = start + i / RATE
        pause = target - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        version = create_report(author=author, content=fvey[i % len(fvey)], status=Status.PUBLISHED)
        ids.append(version.report_id)
    deadline = time.monotonic() + 120
    while held_at_uk() < before + count and time.monotonic() < deadline:
        time.sleep(0.2)
    sent = dict(Report.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
    got = dict(Report.objects.using("uk").filter(pk__in=ids).values_list("pk", "created_at"))
    latencies = sorted((got[k] - sent[k]).total_seconds() * 1000 for k in got)
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"steady {RATE:.0f}/s offered: {len(got)}/{count} arrived, p50 {p50:.0f} ms, "
        f"p95 {p95:.0f} ms",
        flush=True,
    )

    # 3. crypto only, on the very envelopes us signed
    bodies = [
        dict(b) for b in Envelope.objects.order_by("id").values_list("body", flat=True)[:2000]
    ]
    # Unsigned copies (an empty signature map): the round trip signs them again.
    unsigned = [
        {**{k: v for k, v in b.items() if k != "unsigned"}, "signatures": {}} for b in bodies
    ]
    crypto = crypto_roundtrip_rate(unsigned)
    ratio = reports_per_s / crypto
    print(f"crypto only (one core): {crypto:.0f}/s; end to end / crypto = {ratio:.2f}")
    print(
        f"RESULT federation_throughput reports={N_BULK} reports_per_s={reports_per_s:.0f} "
        f"crypto_only_per_s={crypto:.0f} ratio={ratio:.2f} p50_ms={p50:.0f} p95_ms={p95:.0f} "
        f"offered_per_s={RATE:.0f}"
    )


def _expand(rel_to: list[str]) -> set[str]:
    out: set[str] = set()
    for token in rel_to:
        out |= {"us", "uk", "ca", "au", "nz"} if token == "fvey" else {token}
    return out


if __name__ == "__main__":
    main()
