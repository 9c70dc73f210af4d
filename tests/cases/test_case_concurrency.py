"""Concurrent writers of cases against real PostgreSQL: scoring drains in threads (each with its
own connection) while reports are revised, reclassified and merged, and a real Celery scoring
worker process draining the durable queue. Nothing deadlocks, no case ever holds two levels,
and the queue goes quiet after a bounded number of tasks."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Role
from cases.models import Case, CaseMember, PendingScoring
from cases.regroup import drain_batch
from cases.services import drain_pending, merge_cases
from reports.models import Report
from reports.services import revise_report
from tests.cases.factories import OFFICIAL, SECRET, author, content, details, publish
from tests.support.processes import database_url, procfile_commands, running, wait_for_text

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["author"]  # a fixture

STEMS = ("Kestrel", "Juniper", "Basalt", "Marigold", "Quillon", "Tamarind", "Vireo", "Zephyr")
MIXED_LEVELS = """
SELECT count(*) FROM cases_casemember m
JOIN reports_report r ON r.id = m.report_id
JOIN cases_case c ON c.id = m.case_id
WHERE c.classification <> r.classification OR m.classification <> r.classification
"""


def mixed_levels() -> int:
    with connection.cursor() as cursor:
        cursor.execute(MIXED_LEVELS)
        return int(cursor.fetchone()[0])


class Background:
    """Run `work` in a loop in threads with their own database connections; collect errors."""

    def __init__(self, work: Callable[[], Any], threads: int) -> None:
        self.work = work
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.calls = 0
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                self.work()
                self.calls += 1
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()

    def __enter__(self) -> Background:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def quiet_after(limit: int) -> int:
    """Drain batch by batch; how many batches until nothing is pending (at most `limit`)."""
    for n in range(limit + 1):
        if drain_batch(500) is None:
            return n
    raise AssertionError(f"the scoring queue was still busy after {limit} batches")


def test_reclassification_race_with_concurrent_scoring(
    author: Any, client_for: Callable[..., APIClient]
) -> None:
    a = publish(author, details=details("Tidal Logistics Sdn Bhd", "RACE-0001"), markings=SECRET)
    b = publish(author, details=details("Tidal Logistics Sdn Bhd", "RACE-0001"), markings=SECRET)
    drain_pending()
    secret_case = Case.objects.get(members__report_id=b).pk
    seen_mixed: list[int] = []
    with (
        Background(drain_pending, threads=2) as drains,
        Background(lambda: seen_mixed.append(mixed_levels()), threads=1) as watcher,
    ):
        for version, markings in enumerate([OFFICIAL, SECRET, OFFICIAL, SECRET, OFFICIAL], 1):
            revise_report(
                author=author,
                report_id=uuid.UUID(a),
                base_version=version,
                content=content(details=details("Tidal Logistics Sdn Bhd", "RACE-0001"),
                                markings=markings),
            )  # fmt: skip
            publish(author, details=details("Tidal Logistics Sdn Bhd", "RACE-0001"),
                    markings=markings)  # fmt: skip
            time.sleep(0.05)
    assert drains.errors == [], "no deadlock, no duplicate key, no lost update"
    assert watcher.errors == []
    assert watcher.calls > 0
    assert set(seen_mixed) == {0}, "no committed state ever had a case of two levels"
    assert quiet_after(2) <= 1
    assert not PendingScoring.objects.exists()
    assert mixed_levels() == 0
    moved = CaseMember.objects.get(report_id=a)
    assert moved.classification == 1
    official = client_for(Role.ANALYST, "OFFICIAL")
    answers = {official.get(f"/api/v1/cases/{moved.case_id}/").status_code for _ in range(5)}
    assert answers == {200}, "the OFFICIAL case never flickers"
    assert official.get(f"/api/v1/cases/{secret_case}/").status_code == 404
    assert Case.objects.get(members__report_id=b).pk == secret_case


def test_merges_while_scoring_runs(author: Any, make_user: Callable[..., Any]) -> None:
    analyst = make_user(role=Role.ANALYST, clearance="SECRET")

    def shipment(name: str, serial: str, n: int, street: str, country: str) -> dict[str, Any]:
        body = details(name, serial, route=["US", country])
        body["consignee"] = {"name": name, "address": f"{n + 10} {street}", "country": country}
        return body

    def left(n: int) -> dict[str, Any]:
        return shipment(f"{STEMS[n]} Harbour Trading", f"MERGE-{n:04d}", n, "Quay Road", "SG")

    def right(n: int) -> dict[str, Any]:
        return shipment(f"{STEMS[-n - 1]} Data Systems", f"OTHER-{n:04d}", n, "Creek Lane", "AE")

    pairs = [
        (publish(author, details=left(n)), publish(author, details=right(n))) for n in range(4)
    ]
    drain_pending()
    with Background(drain_pending, threads=2) as drains:
        for n, (first, second) in enumerate(pairs):
            into = Case.objects.get(members__report_id=first).pk
            merge_cases(analyst, [into, Case.objects.get(members__report_id=second).pk])
            publish(author, details=right(n))
    assert drains.errors == []
    assert quiet_after(2) <= 1
    for first, second in pairs:
        assert Case.objects.get(members__report_id=first) == Case.objects.get(
            members__report_id=second
        )
        assert Case.objects.get(members__report_id=second).report_count == 3


@pytest.fixture
def scoring_worker(tmp_path: Path) -> Iterator[Path]:
    """The Procfile's scoring worker, on this test's database and broker."""
    settings = connection.settings_dict
    database = database_url(settings)
    broker = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    # Messages left by earlier tests (queued, or unacknowledged and due back) name rows that
    # are gone; they would only wake the worker for nothing.
    broker.delete("scoring", "unacked", "unacked_index")
    log = tmp_path / "scoring.log"
    env = {"DATABASE_URL": database, "SCORING_CONCURRENCY": "2"}
    with running(procfile_commands()["scoring"], env, log):
        wait_for_text(log, "ready.")
        yield log


@pytest.mark.e2e
def test_a_real_scoring_worker_converges_after_a_reclassification(
    author: Any, scoring_worker: Path
) -> None:
    broker = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    ids = [
        publish(author, details=details("Tidal Logistics Sdn Bhd", "WORK-0001"), markings=SECRET)
        for _ in range(6)
    ]
    revise_report(
        author=author,
        report_id=uuid.UUID(ids[0]),
        base_version=1,
        content=content(details=details("Tidal Logistics Sdn Bhd", "WORK-0001"), markings=OFFICIAL),
    )
    deadline = time.monotonic() + 60
    while PendingScoring.objects.exists() or broker.llen("scoring"):
        assert time.monotonic() < deadline, "the worker did not drain the queue"
        time.sleep(0.2)
    pattern = re.compile(r"drain_scoring\[[^]]+\] succeeded in [0-9.e-]+s: ([1-9][0-9]*)")
    before = len(pattern.findall(scoring_worker.read_text()))
    time.sleep(2)  # quiet: nothing requeues itself
    text = scoring_worker.read_text()
    working = pattern.findall(text)
    assert len(working) == before, "no task found work once the queue was drained"
    assert "ERROR" not in text
    assert "deadlock" not in text
    assert 1 <= len(working) <= 7, "at most one working drain per commit, no requeue loop"
    assert mixed_levels() == 0
    assert Report.objects.count() == CaseMember.objects.count() == 6
    assert Case.objects.filter(classification=4).get().report_count == 5
    assert Case.objects.filter(classification=1).get().report_count == 1
