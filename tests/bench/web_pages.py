"""Server time of the case screens at scale: the triage queue (first page and a deep keyset
page) and the case view, with 100,000 and then 1,000,000 reports grouped two to a case.

    .venv/bin/python tests/bench/web_pages.py        (BENCH_REPORTS=100000,1000000)

Runs against its own database (e2e_bench_web, dropped and recreated) on the embedded servers,
or on DATABASE_URL's server when set. Rows are bulk-loaded with PostgreSQL COPY from
generators (reports, cases two reports each, their scores and memberships; full report
versions only for the cases opened), with the secondary indexes dropped during the load and
rebuilt after it. Each page is requested 50 times through Django's test client by a signed-in
SECRET analyst (both factors), after a few warm-up requests; the times are the server's
(request to response in process, no network). queue_* in the RESULT line cover the first and
the deep page together (100 requests).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
STAGES = [int(n) for n in os.environ.get("BENCH_REPORTS", "100000,1000000").split(",")]
REQUESTS = 50
WARM_UP = 3
CASES_OPENED = 10
CHUNK = 20_000  # rows per COPY write
DATABASE = "e2e_bench_web"

# What the generated rows look like.
LEVELS = [1] * 4 + [2] * 3 + [3] * 2 + [4]  # OFFICIAL 40 %, RESTRICTED 30 %, ... SECRET 10 %
ORIGINS = ["us", "uk", "ca", "au", "nz", "jp"]
REL_NODES = "{us,uk,ca,au,nz,jp}"
ROUTES = [
    ["US", "SG", "MY", "CN"],
    ["US", "AE", "CN"],
    ["NL", "TH", "CN"],
    ["US", "HK"],
    ["KR", "TW", "HK", "CN"],
    ["JP", "SG", "VN"],
    ["US", "SG", "CN"],
]
FEATURES = [
    "controlled_item",
    "destination_risk",
    "rf_freight_forwarder_consignee",
    "screening_match",
    "recency",
    "max_transit_risk",
    "source_quality",
    "transshipment_hub",
]
BASELINE = 0.669
TEMPLATES = 20_000  # distinct explanations; scores repeat, so the keyset meets many ties


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["NODE_DATA_DIR"] = str(ROOT / "var" / "bench" / "web")
    if os.environ.get("DATABASE_URL"):
        parts = urlsplit(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{DATABASE}"))
    else:
        os.environ["NODE_DB_NAME"] = DATABASE
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("ensure_database", recreate=True)
    call_command("migrate", verbosity=0)
    run()


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def report_id(n: int) -> uuid.UUID:
    return uuid.UUID(int=(0xBE4C << 112) | n, version=4)


def templates() -> list[tuple[float, str]]:
    """(score, contributions JSON) pairs: positive points, largest first, adding up."""
    rng = random.Random(11)
    out = []
    for _ in range(TEMPLATES):
        scale = rng.choice([3, 8, 15, 30, 60])
        points = sorted((rng.expovariate(1 / scale) / 4 for _ in FEATURES), reverse=True)
        total = sum(points)
        if BASELINE + total > 99.5:
            points = [p * (99.5 - BASELINE) / total for p in points]
        points = [round(p, 3) for p in points]
        rest = round(rng.random() * 2, 3)
        lines = [
            {"feature": name, "points": p, "value": round(rng.random(), 4), "missing": False}
            for name, p in zip(FEATURES, points, strict=True)
        ]
        lines.append({"feature": "other (29 features)", "points": rest, "value": None})
        lines[-1]["missing"] = False
        score = round(BASELINE + sum(points) + rest, 3)
        out.append((min(score, 100.0), json.dumps(lines)))
    return out


def copy_rows(table: str, columns: str, lines: Iterator[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= CHUNK:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def secondary_indexes(table: str) -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint)",
            [table],
        )
        return list(cursor.fetchall())


TABLES = ["reports_report", "cases_case", "cases_casescore", "cases_casemember"]


def load(first_report: int, last_report: int, explanations: list[tuple[float, str]]) -> float:
    """Reports [first, last) and their cases (report 2k and 2k + 1 form case k + 1)."""
    from django.db import DatabaseError, connection, transaction

    started = time.perf_counter()
    rng = random.Random(first_report)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    first_case, last_case = first_report // 2 + 1, (last_report - 1) // 2 + 1
    level_of = {k: LEVELS[k % len(LEVELS)] for k in range(first_case, last_case + 1)}

    def reports() -> Iterator[str]:
        for n in range(first_report, last_report):
            case = n // 2 + 1
            level = level_of[case]
            route = ROUTES[case % len(ROUTES)]
            origin = ORIGINS[n % len(ORIGINS)]
            day = date(2026, 1, 1) + timedelta(days=case % 300)
            stamp = (now - timedelta(minutes=n % 500_000)).isoformat()
            yield (
                f"{report_id(n)}\tBench report {n}: {64 + n % 900} × H100 via {route[1]}\t"
                f"chip_diversion\tpublished\t{level}\t{{fvey}}\t{REL_NODES}\tf\tamber\t"
                f"{day}\t{day}\t{{{','.join(sorted(route))}}}\t{origin}\t1\t\\N\t"
                f"{stamp}\t{stamp}\n"
            )

    def cases() -> Iterator[str]:
        for k in range(first_case, last_case + 1):
            route = ROUTES[k % len(ROUTES)]
            day = date(2026, 1, 1) + timedelta(days=k % 300)
            origins = sorted({ORIGINS[(2 * k - 2) % 6], ORIGINS[(2 * k - 1) % 6]})
            yield (
                f"{k}\tBench case {k}: H100 via {' → '.join(route)}\tchip_diversion\t"
                f"{level_of[k]}\t{{serial:BENCH{k}}}\t{{{','.join(sorted(route))}}}\t"
                f"{{{','.join(origins)}}}\t2\t\t[]\t{day}\t{now.isoformat()}\n"
            )

    def scores() -> Iterator[str]:
        for k in range(first_case, last_case + 1):
            score, contributions = explanations[rng.randrange(TEMPLATES)]
            yield (
                f"{k}\t{level_of[k]}\t{score!r}\t{BASELINE!r}\t{contributions}\t"
                f"bench\t{now.isoformat()}\n"
            )

    def members() -> Iterator[str]:
        for n in range(first_report, last_report):
            yield f"{n // 2 + 1}\t{report_id(n)}\n"

    with transaction.atomic(), connection.cursor() as cursor:
        point = transaction.savepoint()
        try:  # no foreign-key triggers during the load (the rows are made consistent)
            cursor.execute("SET LOCAL session_replication_role = replica")
        except DatabaseError:  # not a superuser: the checks run, only slower
            transaction.savepoint_rollback(point)
        dropped = [row for table in TABLES for row in secondary_indexes(table)]
        for name, _ in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
        copy_rows(
            "reports_report",
            "id, title, category, status, classification, rel_to, rel_nodes, orcon, tlp, "
            "event_start, event_end, countries, origin, current_version, author_id, "
            "created_at, updated_at",
            reports(),
        )
        copy_rows(
            "cases_case",
            "id, title, category, classification, keys, countries, origins, report_count, "
            "features, links, latest_event, updated_at",
            cases(),
        )
        copy_rows(
            "cases_casescore",
            "case_id, classification, score, baseline, contributions, config_version, scored_at",
            scores(),
        )
        copy_rows("cases_casemember", "case_id, report_id", members())
        for _, definition in dropped:
            cursor.execute(definition)
        cursor.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), %s)", [last_case])
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def add_versions(case_ids: list[int]) -> None:
    """Full current versions (with routes) for the reports of the cases the bench opens."""
    from cases.models import CaseMember
    from reports.models import Report, ReportVersion

    members = CaseMember.objects.filter(case_id__in=case_ids).values_list("report_id", flat=True)
    ReportVersion.objects.filter(report_id__in=list(members)).delete()
    rows = []
    for report in Report.objects.filter(pk__in=list(members)):
        route = ROUTES[(int(report.pk) & 0xFFFF) % len(ROUTES)]
        rows.append(
            ReportVersion(
                report=report,
                version=1,
                title=report.title,
                category=report.category,
                status=report.status,
                classification=report.classification,
                rel_to=report.rel_to,
                rel_nodes=report.rel_nodes,
                orcon=report.orcon,
                tlp=report.tlp,
                event_start=report.event_start,
                event_end=report.event_end,
                countries=report.countries,
                summary="Generated for the web benchmark.",
                source_reliability="B",
                info_credibility=2,
                details={
                    "items": [{"model": "H100 SXM", "quantity": 64}],
                    "consignee": {"name": "Bench Consignee Ltd", "country": route[-1]},
                    "route": route,
                },
            )
        )
    ReportVersion.objects.bulk_create(rows)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def timed(get: Callable[[], Any], times: int) -> list[float]:
    for _ in range(WARM_UP):
        response = get()
        assert response.status_code == 200, response.status_code
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        response = get()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(round(0.95 * len(ordered)) - 1, 0)]


def analyst_client() -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    from accounts.models import Role
    from accounts.services import create_user
    from core.markings import Classification
    from web.access import SECOND_FACTOR_KEY

    user = User.objects.filter(username="bench-analyst").first() or create_user(
        username="bench-analyst",
        password=None,
        role=Role.ANALYST,
        clearance=Classification.SECRET,
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[SECOND_FACTOR_KEY] = True  # the flag the TOTP step sets
    session.save()
    return client


def measure(reports: int) -> dict[str, float]:
    from django.db import connection

    from web.triage import Cursor

    client = analyst_client()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM cases_casescore")
        cases = int(cursor.fetchone()[0])
        deep = int(cases * 0.6)
        cursor.execute(
            "SELECT case_id, score FROM cases_casescore ORDER BY score DESC, case_id "
            "OFFSET %s LIMIT 1",
            [deep - 1],
        )
        case_id, score = cursor.fetchone()
        cursor.execute(
            "SELECT case_id FROM cases_casescore ORDER BY score DESC, case_id LIMIT %s",
            [CASES_OPENED],
        )
        opened = [row[0] for row in cursor.fetchall()]
    add_versions(opened)
    cursor_text = Cursor(float(score), int(case_id), deep).encode()
    first = timed(lambda: client.get("/cases/"), REQUESTS)
    page = client.get("/cases/", {"after": cursor_text}).content.decode()
    assert f"Ranks {deep + 1:,}–" in page, "the deep page starts after the cursor's rank"
    deep_page = timed(lambda: client.get("/cases/", {"after": cursor_text}), REQUESTS)
    turn = iter(range(10**9))
    case_page = timed(lambda: client.get(f"/cases/{opened[next(turn) % len(opened)]}/"), REQUESTS)
    queue = first + deep_page
    result = {
        "cases": cases,
        "first_p50": statistics.median(first),
        "first_p95": p95(first),
        "deep_p50": statistics.median(deep_page),
        "deep_p95": p95(deep_page),
        "queue_p50": statistics.median(queue),
        "queue_p95": p95(queue),
        "case_p50": statistics.median(case_page),
        "case_p95": p95(case_page),
    }
    print(
        f"{reports:,} reports, {cases:,} cases: queue first page p50 {result['first_p50']:.1f} "
        f"ms p95 {result['first_p95']:.1f} ms; deep page (rank {deep + 1:,}) p50 "
        f"{result['deep_p50']:.1f} ms p95 {result['deep_p95']:.1f} ms; case page p50 "
        f"{result['case_p50']:.1f} ms p95 {result['case_p95']:.1f} ms",
        flush=True,
    )
    return result


def run() -> None:
    explanations = templates()
    loaded = 0
    result: dict[str, float] = {}
    for target in STAGES:
        seconds = load(loaded, target, explanations)
        print(
            f"loaded reports {loaded:,}..{target:,} with their cases in {seconds:.1f} s",
            flush=True,
        )
        loaded = target
        result = measure(target)
    print(
        f"RESULT web_pages reports={loaded} queue_p50_ms={result['queue_p50']:.1f} "
        f"queue_p95_ms={result['queue_p95']:.1f} case_p95_ms={result['case_p95']:.1f}"
    )


if __name__ == "__main__":
    main()
