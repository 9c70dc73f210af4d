"""TAXII 2.1 paging end to end: taxii2-client reads a collection in pages of 100, from the first
page to the last, at 100,000 and then 1,000,000 objects; in the same run medallion 3.0.0 (memory
backend, its reference server) serves the same objects at the largest size it holds in
reasonable time (BENCH_MEDALLION_OBJECTS, default 2,000: its first page sorts in O(n²)).

    .venv/bin/python tests/bench/taxii_pages.py        (BENCH_OBJECTS=100000,1000000)

Runs against its own database (e2e_bench_taxii, dropped and recreated) on DATABASE_URL's
server, or the embedded one. Reports and their object versions are loaded with COPY; the node
serves them with gunicorn (one worker) to a SECRET analyst's token, every page going through
the same clearance and entitlement filter as any TAXII read. first_page_ms and last_page_ms
are the means of the first ten and the last ten page requests (client-side, HTTP included).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
STAGES = [int(n) for n in os.environ.get("BENCH_OBJECTS", "100000,1000000").split(",")]
MEDALLION_OBJECTS = int(os.environ.get("BENCH_MEDALLION_OBJECTS", "2000"))
OBJECTS_PER_REPORT = 10
PAGE = 100
CHUNK = 20_000
DATABASE = "e2e_bench_taxii"
START = datetime(2026, 1, 1, tzinfo=UTC)
LEVELS = [1, 1, 2, 3]  # OFFICIAL .. CONFIDENTIAL; the reader is SECRET and sees every object


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["NODE_DATA_DIR"] = str(ROOT / "var" / "bench" / "taxii")
    if os.environ.get("DATABASE_URL"):
        parts = urlsplit(os.environ["DATABASE_URL"])
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{DATABASE}"))
    else:
        os.environ["NODE_DB_NAME"] = DATABASE
    import django

    django.setup()
    from django.core.management import call_command

    call_command("ensure_database", recreate=True)
    call_command("migrate", verbosity=0)
    run()


def indicator(n: int) -> dict[str, Any]:
    """A synthetic STIX 2.1 indicator of about 430 bytes, the same for both servers."""
    stamp = (START + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.UUID(int=(0x7A11 << 112) | n, version=4)}",
        "created": stamp,
        "modified": stamp,
        "name": f"Bench indicator {n}",
        "description": "Synthetic indicator for the TAXII paging benchmark.",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '198.51.{n % 256}.{(n // 256) % 256}']",
        "pattern_type": "stix",
        "valid_from": stamp,
    }


def report_id(n: int) -> uuid.UUID:
    return uuid.UUID(int=(0x7A12 << 112) | n, version=4)


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


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def load(first: int, last: int) -> float:
    """Objects [first, last) and their reports (ten objects to a report)."""
    from django.db import connection, transaction

    started = time.perf_counter()
    stamp = START.isoformat()

    def reports() -> Iterator[str]:
        for r in range(first // OBJECTS_PER_REPORT, (last - 1) // OBJECTS_PER_REPORT + 1):
            yield (
                f"{report_id(r)}\tBench report {r}\tchip_diversion\tpublished\t"
                f"{LEVELS[r % 4]}\t{{fvey}}\t{{us,uk,ca,au,nz}}\tf\tamber\t\\N\t\\N\t{{}}\t"
                f"us\t1\t\\N\t{stamp}\t{stamp}\n"
            )

    def objects() -> Iterator[str]:
        for n in range(first, last):
            body = indicator(n)
            r = n // OBJECTS_PER_REPORT
            added = (START + timedelta(milliseconds=n)).isoformat()
            yield (
                f"{n + 1}\t{body['id']}\tindicator\t2.1\t{body['modified']}\t{added}\tt\tt\t"
                f"{_escape(json.dumps(body))}\t{report_id(r)}\t1\t\\N\t{LEVELS[r % 4]}\tamber\t"
                f"chip_diversion\tus\t{{us,uk,ca,au,nz}}\tf\n"
            )

    with transaction.atomic():
        copy_rows(
            "reports_report",
            "id, title, category, status, classification, rel_to, rel_nodes, orcon, tlp, "
            "event_start, event_end, countries, origin, current_version, author_id, "
            "created_at, updated_at",
            reports(),
        )
        copy_rows(
            "interop_stixobject",
            "seq, stix_id, stix_type, spec_version, version, date_added, is_latest, is_first, "
            "body, report_id, report_version, collection_id, classification, tlp, category, "
            "origin, rel_nodes, orcon",
            objects(),
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('interop_stixobject', 'seq'), %s)", [last]
        )
        cursor.execute("ANALYZE interop_stixobject")
        cursor.execute("ANALYZE reports_report")
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def read_all(collection: Any) -> tuple[int, float, list[float]]:
    """Every page with taxii2-client's as_pages: (objects, seconds, per-page seconds)."""
    from taxii2client.v21 import as_pages

    times: list[float] = []
    last = [time.perf_counter()]

    def timed(**kwargs: Any) -> Any:
        started = time.perf_counter()
        envelope = collection.get_objects(**kwargs)
        times.append(time.perf_counter() - started)
        return envelope

    count = 0
    started = time.perf_counter()
    for page in as_pages(timed, per_request=PAGE):
        count += len(page.get("objects", []))
    last[0] = time.perf_counter() - started
    return count, last[0], times


def node_stage(url: str, token: str, username: str, collection_id: str) -> dict[str, float]:
    from taxii2client.v21 import Collection

    collection = Collection(
        f"{url}/taxii2/api/collections/{collection_id}/", user=username, password=token
    )
    for _ in range(3):  # warm up: the worker's imports, connection and caches
        collection.get_objects(limit=1)
    count, seconds, times = read_all(collection)
    return {
        "objects": count,
        "objects_per_s": count / seconds,
        "first_page_ms": 1000 * sum(times[:10]) / len(times[:10]),
        "last_page_ms": 1000 * sum(times[-10:]) / len(times[-10:]),
    }


def medallion_stage(n: int) -> float:
    """Objects per second read end to end from medallion 3.0.0 holding the same n objects."""
    from taxii2client.v21 import Collection

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="bench-medallion-"))
    objects = [indicator(i) for i in range(n)]
    manifest = [
        {
            "id": o["id"],
            "date_added": (START + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "version": o["modified"],
            "media_type": "application/stix+json;version=2.1",
        }
        for i, o in enumerate(objects)
    ]
    collection_id = "1c4a0d4e-8a8e-4b77-9d6c-0f0b6f1d2a11"
    root = f"{base}/bench/"
    taxii = "application/taxii+json;version=2.1"
    stored = {
        "id": collection_id,
        "title": "bench",
        "can_read": True,
        "can_write": False,
        "media_types": ["application/stix+json;version=2.1"],
        "objects": objects,
        "manifest": manifest,
    }
    information = {"title": "bench", "versions": [taxii], "max_content_length": 9765625}
    data = {
        "/discovery": {"title": "bench", "default": root, "api_roots": [root]},
        "bench": {"information": information, "status": [], "collections": [stored]},
    }
    (work / "data.json").write_text(json.dumps(data))
    config = {
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(work / "data.json"), "session_timeout": 3600},
        "users": {"bench": "Bench-Password-1"},
        "taxii": {"max_page_size": PAGE},
    }  # fmt: skip
    (work / "config.json").write_text(json.dumps(config))
    binary = Path(sys.executable).with_name("medallion")
    process = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), str(work / "config.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait(port, process)
        collection = Collection(
            f"{base}/bench/collections/{collection_id}/", user="bench", password="Bench-Password-1"
        )
        collection.refresh()
        count, seconds, _ = read_all(collection)
        assert count == n, f"medallion served {count} of {n}"
        return count / seconds
    finally:
        process.terminate()
        process.wait(timeout=20)


def start_node() -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--pythonpath", "platform,.", "config.wsgi",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    _wait(port, process)
    return f"http://127.0.0.1:{port}", process


def reader() -> tuple[str, str, str]:
    from rest_framework.authtoken.models import Token

    from accounts.models import Role
    from accounts.services import create_user
    from core.markings import Classification
    from interop.models import TaxiiCollection

    user = create_user(
        username="bench-reader", password=None, role=Role.ANALYST, clearance=Classification.SECRET
    )
    token = Token.objects.create(user=user).key
    collection = TaxiiCollection.objects.create(title="Everything")
    return token, user.username, str(collection.pk)


def run() -> None:
    token, username, collection_id = reader()
    loaded = 0
    result: dict[str, float] = {}
    for target in STAGES:
        seconds = load(loaded, target)
        print(f"loaded objects {loaded:,}..{target:,} in {seconds:.1f} s", flush=True)
        loaded = target
        url, process = start_node()
        try:
            result = node_stage(url, token, username, collection_id)
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(
            f"node, {target:,} objects: {result['objects_per_s']:.0f} objects/s, first page "
            f"{result['first_page_ms']:.1f} ms, last page {result['last_page_ms']:.1f} ms",
            flush=True,
        )
    medallion = medallion_stage(MEDALLION_OBJECTS)
    print(f"medallion, {MEDALLION_OBJECTS:,} objects: {medallion:.1f} objects/s", flush=True)
    print(
        f"RESULT taxii_pages objects={int(result['objects'])} "
        f"objects_per_s={result['objects_per_s']:.0f} "
        f"first_page_ms={result['first_page_ms']:.1f} "
        f"last_page_ms={result['last_page_ms']:.1f} "
        f"medallion_objects_per_s={medallion:.1f} "
        f"ratio={result['objects_per_s'] / medallion:.1f} medallion_objects={MEDALLION_OBJECTS}"
    )


if __name__ == "__main__":
    main()
