"""Server time of search and entity pages at 1,000,000 reports.

    .venv/bin/python tests/bench/search_pages.py        (BENCH_REPORTS=1000000)

Runs against its own database (e2e_bench_search_<your database>, dropped and recreated) on
DATABASE_URL's server, or on the embedded servers when it is unset.

What the data looks like (written from this specification, not from the search code):

- reports: chip-diversion reports from six origins, classification OFFICIAL 40 %, RESTRICTED
  30 %, CONFIDENTIAL 20 %, SECRET 10 %, released to FVEY and JP, all published.
- a title "<quantity> x <model> via <hub>" (a multiplication sign for x) and a summary of
  25 to 60 words drawn from a
  2,000-word vocabulary (Zipf-like: a few words are very common, most are rare).
- a consignee drawn from 200,000 invented company names, skewed so that a few forwarders appear
  in thousands of reports and most in a handful; an address for each company; 0 to 2
  intermediaries from the same pool; an officer in 30 % of reports from 100,000 invented people.
- 1 to 3 serial numbers unique to the report, a shipment reference in 60 % of reports.

Rows are bulk-loaded with COPY (reports, versions, entities, links); the search documents are
then built by `search.services.reindex_all` (the product's full rebuild, with the SQL that
indexes every new version) in batches of report ids, its GIN indexes built after.
BENCH_KEEP=1 measures again on the database a previous run loaded (same BENCH_REPORTS), without
loading. The queries an analyst types, drawn at random: company names (30 %), people (15 %),
serials (15 %), shipment references (10 %), misspelt company names (one letter dropped or
swapped, 20 %) and two-word topical queries such as "H20 Dubai" (10 %). Each query is one
request to /search/ through Django's test client by a signed-in SECRET analyst (both factors);
entity pages are requested for companies drawn the same skewed way. Times are the server's.
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
REPORTS = int(os.environ.get("BENCH_REPORTS", "1000000"))
QUERIES = 200
ENTITY_PAGES = 60
WARM_UP = 5
CHUNK = 20_000
INDEX_BATCH = 20_000

LEVELS = [1] * 4 + [2] * 3 + [3] * 2 + [4]
ORIGINS = ["us", "uk", "ca", "au", "nz", "jp"]
MODELS = ["H100 SXM", "H800", "H200", "H20", "A100", "A800", "L40S", "MI300X", "Gaudi 3"]
HUBS = ["Singapore", "Dubai", "Hong Kong", "Kuala Lumpur", "Bangkok", "Taipei", "Istanbul"]
HUB_CODES = {"Singapore": "SG", "Dubai": "AE", "Hong Kong": "HK", "Kuala Lumpur": "MY"}
COMPANIES = 200_000
PEOPLE = 100_000
SYLLABLES = [
    "har",
    "bour",
    "front",
    "lu",
    "men",
    "ja",
    "de",
    "ka",
    "tri",
    "on",
    "or",
    "chid",
    "mer",
    "id",
    "ian",
    "kes",
    "trel",
    "ti",
    "dal",
    "ob",
    "sid",
    "lan",
    "tern",
    "ze",
    "phyr",
    "nor",
    "th",
    "ga",
    "te",
    "vel",
    "ox",
    "qua",
    "sar",
    "pi",
    "ne",
    "ro",
    "sa",
    "al",
    "ta",
    "ve",
    "ga",
    "cor",
    "vus",
]
INDUSTRY = ["Logistics", "Trading", "Computing", "Systems", "Supply Chain", "Electronics"]
LEGAL = ["Pte Ltd", "Ltd", "LLC", "Sdn Bhd", "FZE", "Co."]
GIVEN = [
    "Wei",
    "Ming",
    "Li",
    "Hui",
    "Arjun",
    "Priya",
    "Omar",
    "Layla",
    "Ivan",
    "Olga",
    "Kenji",
    "Yuki",
    "Chen",
    "Mei",
    "Tan",
    "Ravi",
]
FAMILY = [
    "Tan",
    "Lim",
    "Ng",
    "Koh",
    "Rahman",
    "Haddad",
    "Petrov",
    "Ivanova",
    "Sato",
    "Suzuki",
    "Wong",
    "Lee",
    "Kumar",
    "Chua",
]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["NODE_DATA_DIR"] = str(ROOT / "var" / "bench" / "search")
    if os.environ.get("DATABASE_URL"):
        parts = urlsplit(os.environ["DATABASE_URL"])
        name = f"e2e_bench_search_{parts.path.strip('/') or 'default'}"
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    else:
        os.environ["NODE_DB_NAME"] = "e2e_bench_search"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    keep = bool(os.environ.get("BENCH_KEEP"))
    call_command("ensure_database", recreate=not keep)
    call_command("migrate", verbosity=0)
    run(keep)


# --------------------------------------------------------------------------------------------
# The generated world
# --------------------------------------------------------------------------------------------


def company_name(n: int) -> str:
    rng = random.Random(n * 7919)
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word} {rng.choice(INDUSTRY)} {rng.choice(LEGAL)} {n}"


def person_name(n: int) -> str:
    rng = random.Random(n * 104729)
    family = rng.choice(FAMILY) + "".join(rng.choice(SYLLABLES) for _ in range(1))
    return f"{rng.choice(GIVEN)} {rng.choice(GIVEN)} {family.capitalize()}{n}"


def skewed(rng: random.Random, size: int) -> int:
    """A few values very often, most rarely (P(index < k) = (k / size) ** (1 / 3))."""
    return min(int(size * rng.random() ** 3), size - 1)


def vocabulary() -> list[str]:
    rng = random.Random(5)
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(2_000)]


def parties_of(n: int) -> tuple[int, list[int], int | None]:
    """Report n's consignee, intermediaries and officer (None for most reports)."""
    rng = random.Random(n * 31 + 1)
    consignee = skewed(rng, COMPANIES)
    intermediaries = [skewed(rng, COMPANIES) for _ in range(rng.randint(0, 2))]
    officer = rng.randrange(PEOPLE) if rng.random() < 0.3 else None
    return consignee, intermediaries, officer


def report_id(n: int) -> uuid.UUID:
    return uuid.UUID(int=(0x5EA2 << 112) | n, version=4)


def serial(n: int, k: int) -> str:
    return f"SN{n:07d}{k}"


def shipment_ref(n: int) -> str | None:
    return f"AWB-{n * 37 % 9_999_991:07d}" if n % 5 < 3 else None


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


def text(value: str) -> str:
    """A COPY text field."""
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def load(reports: int) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    words = vocabulary()
    now = datetime(2026, 11, 1, tzinfo=UTC)
    # Entities: companies (ids 1..), their addresses, people.
    address_base, person_base = COMPANIES, 2 * COMPANIES

    def entities() -> Iterator[str]:
        for n in range(COMPANIES):
            name = company_name(n)
            yield f"{n + 1}\torganisation\t{text(name)}\t{text(name.lower())}\tSG\n"
        for n in range(COMPANIES):
            address = f"{n % 400 + 1} Invented Quay {n}"
            yield f"{address_base + n + 1}\taddress\t{address}\t{address.lower()}\tSG\n"
        for n in range(PEOPLE):
            name = person_name(n)
            yield f"{person_base + n + 1}\tperson\t{text(name)}\t{text(name.lower())}\tSG\n"

    def rows(kind: str) -> Iterator[str]:
        for n in range(reports):
            rng = random.Random(n)
            level = LEVELS[n % len(LEVELS)]
            origin = ORIGINS[n % len(ORIGINS)]
            hub = HUBS[n % len(HUBS)]
            model = MODELS[(n // 7) % len(MODELS)]
            day = date(2024, 1, 1) + timedelta(days=n % 900)
            stamp = (now - timedelta(minutes=n)).isoformat()
            title = f"{64 + n % 900} × {model} via {hub}"
            countries = sorted({"US", HUB_CODES.get(hub, "TH"), "CN"})
            if kind == "report":
                yield (
                    f"{report_id(n)}\t{text(title)}\tchip_diversion\tpublished\t{level}\t"
                    f"{{fvey,jp}}\t{{us,uk,ca,au,nz,jp}}\tf\tamber\t{day}\t\\N\t"
                    f"{{{','.join(countries)}}}\t{origin}\t1\t\\N\t{stamp}\t{stamp}\n"
                )
                continue
            consignee, intermediaries, _ = parties_of(n)
            summary = " ".join(
                words[min(int(len(words) * rng.random() ** 2), len(words) - 1)]
                for _ in range(rng.randint(25, 60))
            )
            details: dict[str, Any] = {
                "items": [
                    {
                        "model": model,
                        "quantity": 64 + n % 900,
                        "serials": [serial(n, k) for k in range(rng.randint(1, 3))],
                    }
                ],
                "consignee": {
                    "name": company_name(consignee),
                    "address": f"{consignee % 400 + 1} Invented Quay {consignee}",
                    "country": "SG",
                },
                "intermediaries": [
                    {"name": company_name(i), "country": "HK", "role": "freight_forwarder"}
                    for i in intermediaries
                ],
                "route": ["US", HUB_CODES.get(hub, "TH"), "CN"],
            }
            if shipment_ref(n):
                details["shipment_ref"] = shipment_ref(n)
            yield (
                f"{n + 1}\t{report_id(n)}\t1\t{text(title)}\tchip_diversion\tpublished\t{level}\t"
                f"{{fvey,jp}}\t{{us,uk,ca,au,nz,jp}}\tf\tamber\t{day}\t\\N\t"
                f"{{{','.join(countries)}}}\t{text(summary)}\tB\t2\t"
                f"{text(json.dumps(details))}\t\t\\N\t{stamp}\n"
            )

    def link_rows() -> Iterator[str]:
        for n in range(reports):
            consignee, intermediaries, officer = parties_of(n)
            links = [
                (consignee + 1, "consignee"),
                (address_base + consignee + 1, "registered_address"),
                *((i + 1, "intermediary") for i in intermediaries),
            ]
            if officer is not None:
                links.append((person_base + officer + 1, "officer"))
            for entity_id, role in dict.fromkeys(links):
                yield f"{n + 1}\t{entity_id}\t{role}\n"

    marked = (
        "title, category, status, classification, rel_to, rel_nodes, orcon, tlp, "
        "event_start, event_end, countries"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        copy_rows("reports_entity", "id, kind, name, normalized_name, country", entities())
        copy_rows(
            "reports_report",
            f"id, {marked}, origin, current_version, author_id, created_at, updated_at",
            rows("report"),
        )
        copy_rows(
            "reports_reportversion",
            f"id, report_id, version, {marked}, summary, source_reliability, "
            "info_credibility, details, change_note, author_id, created_at",
            rows("version"),
        )
        copy_rows("reports_reportentity", "version_id, entity_id, role", link_rows())
        for table in ("reports_entity", "reports_reportversion", "reports_reportentity"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
    print(f"rows loaded in {time.perf_counter() - started:.1f} s", flush=True)
    index_started = time.perf_counter()
    build_search_documents(reports)
    print(f"search documents built in {time.perf_counter() - index_started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def build_search_documents(reports: int) -> None:
    """Through the product's full rebuild (what `manage.py reindex_search --rebuild-indexes`
    runs): batches of report ids, one transaction each, the GIN indexes built after."""
    from search.services import reindex_all

    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 100_000 < INDEX_BATCH or done == reports:
            print(f"  {done:,} documents ({time.perf_counter() - started:.0f} s)", flush=True)

    built = reindex_all(INDEX_BATCH, progress, rebuild_indexes=True)
    assert built == reports, (built, reports)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def queries(reports: int) -> list[str]:
    rng = random.Random(2026)
    out = []
    for _ in range(QUERIES):
        pick = rng.random()
        n = rng.randrange(reports)
        if pick < 0.30:
            out.append(company_name(skewed(rng, COMPANIES)).rsplit(" ", 1)[0].rsplit(" ", 1)[0])
        elif pick < 0.45:
            out.append(person_name(rng.randrange(PEOPLE)))
        elif pick < 0.60:
            out.append(serial(n, 0))
        elif pick < 0.70:
            out.append(shipment_ref(n - n % 5) or serial(n, 0))
        elif pick < 0.90:
            name = company_name(skewed(rng, COMPANIES)).split(" ")[0]
            at = rng.randrange(1, len(name) - 1)
            misspelt = (
                name[:at] + name[at + 1 :]
                if rng.random() < 0.5
                else (name[: at - 1] + name[at] + name[at - 1] + name[at + 1 :])
            )
            out.append(misspelt)
        else:
            out.append(f"{rng.choice(MODELS).split(' ')[0]} {rng.choice(HUBS)}")
    return out


def timed(get: Callable[[], Any], times: int) -> list[float]:
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
        username="bench-analyst", password=None, role=Role.ANALYST, clearance=Classification.SECRET
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[SECOND_FACTOR_KEY] = True
    session.save()
    return client


def measure(reports: int) -> dict[str, float]:
    client = analyst_client()
    typed = queries(reports)
    for text_ in typed[:WARM_UP]:
        client.get("/search/", {"q": text_})
    hits = []
    turn = iter(typed)

    def one_search() -> Any:
        response = client.get("/search/", {"q": next(turn)})
        hits.append(response.content.count(b"data-row-link"))
        return response

    search = timed(one_search, len(typed))
    rng = random.Random(7)
    entities = [parties_of(rng.randrange(reports))[0] + 1 for _ in range(ENTITY_PAGES + WARM_UP)]
    for entity_id in entities[:WARM_UP]:
        client.get(f"/entities/{entity_id}/")
    pages = iter(entities[WARM_UP:])
    entity = timed(lambda: client.get(f"/entities/{next(pages)}/"), ENTITY_PAGES)
    found = sum(1 for h in hits if h)
    slowest = sorted(zip(search, typed, strict=True), reverse=True)[:3]
    print(
        f"{reports:,} reports: search p50 {statistics.median(search):.1f} ms p95 "
        f"{p95(search):.1f} ms ({found} of {len(typed)} queries found reports); entity page "
        f"p50 {statistics.median(entity):.1f} ms p95 {p95(entity):.1f} ms; slowest: "
        + ", ".join(f"{q!r} {ms:.0f} ms" for ms, q in slowest),
        flush=True,
    )
    return {
        "search_p50": statistics.median(search),
        "search_p95": p95(search),
        "entity_p95": p95(entity),
    }


def run(keep: bool) -> None:
    from search.models import SearchDocument

    if keep:
        found = SearchDocument.objects.count()
        assert found == REPORTS, f"BENCH_KEEP: the database holds {found:,} documents"
        print(f"measuring the {REPORTS:,} reports loaded before", flush=True)
    else:
        seconds = load(REPORTS)
        print(f"loaded {REPORTS:,} reports in {seconds:.1f} s", flush=True)
    result = measure(REPORTS)
    print(
        f"RESULT search_pages reports={REPORTS} search_p50_ms={result['search_p50']:.1f} "
        f"search_p95_ms={result['search_p95']:.1f} "
        f"entity_page_p95_ms={result['entity_p95']:.1f}"
    )


if __name__ == "__main__":
    main()
