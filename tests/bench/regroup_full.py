"""Full regroup of every report (`cases.services.regroup_all`): streamed in keyset pages, cut
into chunks of whole connected blocks, each chunk clustered, scored and written in its own
transaction. Measures the wall time and the process's peak resident memory.

Reports are seeded with COPY straight into the report tables (a chip-diversion shipment in
about 2.5 reports, invented names from a small stem vocabulary), so seeding a million takes a
minute rather than an hour through the services.

    python tests/bench/regroup_full.py     (BENCH_REPORTS=1000000, BENCH_CHUNK=20000)

Runs against its own database (e2e_bench_regroup) on DATABASE_URL's server.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
CHUNK = int(os.environ.get("BENCH_CHUNK", "20000"))
DB_NAME = "e2e_bench_regroup"

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
COUNTRIES = ["SG", "MY", "AE", "HK", "TH", "TR", "KZ", "AM"]
MODELS = ["H100 SXM", "A100", "H20", "L40S", "H800"]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["NODE_DATA_DIR"] = str(ROOT / "var" / "bench" / "regroup")
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("ensure_database", recreate=True)
    call_command("migrate", verbosity=0)
    seed()
    run()


def seed() -> None:
    from django.db import connection

    rng = random.Random(11)
    started = time.monotonic()
    columns = (
        "title, category, status, classification, rel_to, rel_nodes, orcon, tlp, "
        "event_start, event_end, countries"
    )
    with connection.cursor() as cursor:
        with cursor.copy(
            f"COPY reports_report (id, origin, current_version, created_at, updated_at, "
            f"{columns}) FROM STDIN"
        ) as reports:
            ids = []
            for n in range(REPORTS):
                rid = uuid.UUID(int=rng.getrandbits(128), version=4)
                ids.append(rid)
                reports.write_row(_shared(rid, n, ("uk", 1, "now()", "now()")))
        with cursor.copy(
            f"COPY reports_reportversion (report_id, version, summary, source_reliability, "
            f"info_credibility, details, change_note, created_at, {columns}) FROM STDIN"
        ) as versions:
            for n, rid in enumerate(ids):
                case = n * 2 // 5  # about 2.5 reports per shipment
                details = {
                    "consignee": {
                        "name": f"{STEMS[case % 9]} {GENERIC[case % 6]} {case} Ltd",
                        "address": f"{case} Invented Road",
                        "country": COUNTRIES[case % 8],
                    },
                    "items": [
                        {
                            "model": MODELS[case % 5],
                            "quantity": 8 + case % 900,
                            "serials": [f"SN{case:08d}"],
                        }
                    ],
                    "route": ["US", COUNTRIES[(case + 3) % 8], COUNTRIES[case % 8]],
                    "shipment_ref": f"AWB-{case:09d}",
                }
                row = _shared(rid, n, ())
                versions.write_row(
                    (rid, 1, "Invented.", "B", 2, json.dumps(details), "", "now()", *row[1:])
                )
        cursor.execute("ANALYZE")
    print(f"seeded {REPORTS} reports in {time.monotonic() - started:.1f} s", flush=True)


def _shared(rid: uuid.UUID, n: int, head: tuple[object, ...]) -> tuple[object, ...]:
    case = n * 2 // 5
    return (
        rid,
        *head,
        f"Shipment {case}",
        "chip_diversion",
        "published",
        1 + case % 3,
        "{fvey}",
        "{us}",
        False,
        "amber",
        None,
        None,
        "{}",
    )


def run() -> None:
    from cases.services import regroup_all

    marks = []

    def progress(done: int, total: int) -> None:
        marks.append(done)
        if len(marks) % 10 == 0:
            print(f"  {done}/{total} reports", flush=True)

    started = time.monotonic()
    cases = regroup_all(progress, chunk=CHUNK)
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{REPORTS} reports into {cases} cases in {seconds:.1f} s, peak RSS {peak:.0f} MB")
    print(f"RESULT regroup_full reports={REPORTS} seconds={seconds:.1f} peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
