"""Case scoring keeping pace with the federation: received versions written by the inbox's bulk
path (`record_received_versions`, the same COPY writes and version hooks as a partner's batch)
at a steady offered load, regrouped and scored by the real scoring worker process (the
Procfile's `scoring` command) draining the durable pending table.

Measures, per received batch, the time from its commit to every one of its reports being in a
scored case (polled from a separate connection), and the sustained rate from the first commit
to the last report visible.

    python tests/bench/scoring_ingest.py   (BENCH_RATE=1000 reports/s, BENCH_SECONDS=20,
                                            BENCH_BATCH=100 reports per received batch)

Runs against its own database (e2e_bench_ingest) on DATABASE_URL's server.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
RATE = float(os.environ.get("BENCH_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
BATCH = int(os.environ.get("BENCH_BATCH", "100"))
DB_NAME = "e2e_bench_ingest"

STEMS = [
    "Golden Bridge",
    "Apex",
    "Orient",
    "Lumen",
    "Kestrel",
    "Harbor",
    "Jade Gate",
    "Meridian",
    "Silverline",
]
GENERIC = ["Technology", "Logistics", "Trading", "Computing", "Electronics", "Systems"]
FORMS = ["Ltd", "Pte Ltd", "LLC", "Co.", "FZE", "Sdn Bhd", "GmbH"]
COUNTRIES = ["SG", "MY", "AE", "HK", "TH", "TR", "KZ", "AM"]
MODELS = ["H100 SXM", "A100", "H20", "L40S", "H800"]


def shipment(rng: random.Random, n: int) -> dict[str, Any]:
    """One invented shipment: the case its reports should form."""
    country = rng.choice(COUNTRIES)
    name = f"{rng.choice(STEMS)} {rng.choice(GENERIC)} {n} {rng.choice(FORMS)}"
    return {
        "consignee": {"name": name, "address": f"{n} Invented Road", "country": country},
        "items": [
            {
                "model": rng.choice(MODELS),
                "quantity": rng.randint(8, 960),
                "serials": [f"SN{n:07d}{k}" for k in range(3)],
            }
        ],
        "route": ["US", rng.choice(COUNTRIES), country],
        "shipment_ref": f"AWB-{n:08d}",
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["NODE_DATA_DIR"] = str(ROOT / "var" / "bench" / "ingest")
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("ensure_database", recreate=True)
    call_command("migrate", verbosity=0)
    run()


def run() -> None:
    from django.db import connection, transaction

    from reports.services import ReportContent, check_received_version, record_received_versions
    from tests.support.processes import procfile_commands, running, wait_for_text

    rng = random.Random(8)
    shipments = [shipment(rng, n) for n in range(int(RATE * SECONDS / 2.5) + 1)]

    def batch() -> list[Any]:
        out = []
        for _ in range(BATCH):
            details = dict(rng.choice(shipments))  # about 2.5 reports per shipment
            content = ReportContent(
                title=f"Shipment to {details['consignee']['name']}",
                summary="Invented report for the ingest benchmark.",
                category="chip_diversion",
                classification=rng.choice(["OFFICIAL", "CONFIDENTIAL", "SECRET"]),
                rel_to=["fvey"],
                orcon=False,
                tlp="amber",
                source_reliability="B",
                info_credibility=2,
                details=details,
            )
            out.append(
                check_received_version(
                    report_id=uuid.uuid4(),
                    origin="uk",
                    version_number=1,
                    content=content,
                    status="published",
                )
            )
        return out

    log = ROOT / "var" / "bench" / "scoring-ingest-worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    import redis

    redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).delete("scoring")
    committed: dict[int, tuple[float, list[str]]] = {}
    visible: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        from django.db import connections

        with connections["default"].cursor() as cursor:
            while not done.is_set() or len(visible) < len(committed):
                waiting = [(k, ids) for k, (_, ids) in list(committed.items()) if k not in visible]
                if waiting:
                    cursor.execute(
                        "SELECT report_id::text FROM cases_casemember m "
                        "JOIN cases_casescore s ON s.case_id = m.case_id "
                        "WHERE m.report_id = ANY(%s::uuid[])",
                        [[rid for _, ids in waiting for rid in ids]],
                    )
                    seen = {row[0] for row in cursor.fetchall()}
                    now = time.monotonic()
                    for key, ids in waiting:
                        if all(rid in seen for rid in ids):
                            visible[key] = now
                time.sleep(0.05)
        connections["default"].close()

    env = {"SCORING_CONCURRENCY": os.environ.get("BENCH_SCORING_CONCURRENCY", "1")}
    with running(procfile_commands()["scoring"], env, log):
        wait_for_text(log, "ready.", timeout=90)
        watcher = threading.Thread(target=watch)
        watcher.start()
        interval = BATCH / RATE
        started = time.monotonic()
        for n in range(int(RATE * SECONDS / BATCH)):
            target = started + n * interval
            pause = target - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            versions = batch()
            with transaction.atomic():
                record_received_versions(versions, locked={})
            committed[n] = (time.monotonic(), [str(v.report_id) for v in versions])
        offered_for = time.monotonic() - started
        done.set()
        watcher.join(300)
    connection.close()
    latencies = sorted((visible[k] - committed[k][0]) * 1000 for k in committed if k in visible)
    lost = len(committed) - len(visible)
    reports = sum(len(ids) for _, ids in committed.values())
    first = min(t for t, _ in committed.values())
    last = max(visible.values()) if visible else first
    rate = reports / (last - first) if last > first else 0.0
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    print(
        f"offered {reports} reports in {offered_for:.1f} s ({reports / offered_for:.0f}/s); "
        f"all scored after {last - first:.1f} s; p50 {p50:.0f} ms, p95 {p95:.0f} ms; "
        f"batches never visible: {lost}",
        flush=True,
    )
    print(f"RESULT scoring_ingest reports_per_s={rate:.0f} p95_visible_ms={p95:.0f}")


if __name__ == "__main__":
    main()
