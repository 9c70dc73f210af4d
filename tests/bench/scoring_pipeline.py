"""Scoring from PostgreSQL: full rescoring of 100,000 cases (read stored features, score and
explain in numpy, write scores and contributions back), then the incremental path after one
new report (find its case by exact keys, rebuild that case's features, score, store).

    python tests/bench/scoring_pipeline.py        (BENCH_CASES=100000)

Runs against its own database (e2e_bench_scoring) on the embedded servers, or on DATABASE_URL's
server when set.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
CASES = int(os.environ.get("BENCH_CASES", "100000"))


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["NODE_DATA_DIR"] = str(ROOT / "var" / "bench" / "scoring")
    if os.environ.get("DATABASE_URL"):
        parts = urlsplit(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/e2e_bench_scoring"))
    else:
        os.environ["NODE_DB_NAME"] = "e2e_bench_scoring"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("ensure_database", recreate=True)
    call_command("migrate", verbosity=0)
    run()


def run() -> None:
    import numpy as np
    from django.contrib.auth.models import User
    from django.db import connection

    from accounts.models import Role
    from accounts.services import create_user
    from cases.models import Case, CaseMember, CaseScore
    from cases.services import active_config, rescore_all, score_report_case
    from core.markings import Classification
    from reports.demo import demo_reports
    from reports.models import Report, Status
    from reports.services import ReportContent, create_report

    CaseMember.objects.all().delete()
    CaseScore.objects.all().delete()
    Case.objects.all().delete()
    Report.objects.all().delete()
    config = active_config()
    width = config.n_features
    rng = np.random.default_rng(7)
    features = rng.random((CASES, width))
    features[rng.random((CASES, width)) < 0.1] = np.nan  # some signals missing
    print(f"loading {CASES} cases with {width} features...", flush=True)
    with (
        connection.cursor() as cursor,
        cursor.copy(
            "COPY cases_case (title, category, classification, keys, countries, origins, "
            "report_count, features, links, updated_at) FROM STDIN"
        ) as copy,
    ):
        for i in range(CASES):
            copy.write_row(
                (
                    f"case {i}",
                    "chip_diversion",
                    1 + i % 4,
                    [f"serial:BENCH{i}"],
                    ["SG"],
                    ["us"],
                    1,
                    features[i].astype("<f8").tobytes(),
                    "[]",
                    "now()",
                )
            )
    with connection.cursor() as cursor:
        # Every case starts with a stale score, as after a change of weights.
        cursor.execute(
            "INSERT INTO cases_casescore (case_id, classification, score, baseline, "
            "contributions, config_version, scored_at) "
            "SELECT id, classification, 0, 0, '[]', 'stale', now() FROM cases_case"
        )
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        done = rescore_all()
        runs.append(time.perf_counter() - started)
        assert done == CASES
    full = statistics.median(runs)
    print(
        f"full rescoring of {CASES} cases: {full:.2f} s (median of 3: "
        f"{', '.join(f'{r:.2f}' for r in runs)})",
        flush=True,
    )

    author = User.objects.filter(username="bench").first() or create_user(
        username="bench", password=None, role=Role.RELEASER, clearance=Classification.SECRET
    )
    seed = [
        d.content for d in demo_reports("us", 40, seed=5) if d.content.category == "chip_diversion"
    ]
    base = seed[0]
    serial = "BENCH-SHARED-1"

    def with_serial(content: ReportContent, title: str) -> ReportContent:
        details = dict(content.details)
        details["items"] = [{"model": "H100 SXM", "quantity": 64, "serials": [serial]}]
        return ReportContent(**{**content.__dict__, "details": details, "title": title})

    for i in range(3):
        create_report(
            author=author, content=with_serial(base, f"shared serial {i}"), status=Status.PUBLISHED
        )
    for rid in [str(r) for r in Report.objects.values_list("pk", flat=True)]:
        score_report_case(rid)
    timings = []
    for i in range(10):
        version = create_report(
            author=author, content=with_serial(base, f"new report {i}"), status=Status.PUBLISHED
        )
        started = time.perf_counter()
        case = score_report_case(str(version.report_id))
        timings.append((time.perf_counter() - started) * 1000)
        assert case is not None
        assert case.report_count == 4 + i
    incremental = statistics.median(timings)
    print(
        f"incremental rescoring after one new report: {incremental:.1f} ms "
        f"(median of 10, case of up to 13 reports among {CASES} cases)",
        flush=True,
    )
    print(
        f"RESULT scoring_pipeline cases={CASES} full_seconds={full:.2f} "
        f"incremental_ms={incremental:.1f}"
    )


if __name__ == "__main__":
    main()
