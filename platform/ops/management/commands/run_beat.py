"""Celery beat, at most one per node: the process holds a PostgreSQL advisory lock for as long as
it schedules. A second beat (two hosts started with the same unit) waits as a standby and takes
over within a few seconds of the first one's death (its session, and so its lock, ends with it),
so no periodic task ever runs twice."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

# An application-wide constant: "beat" in ASCII.
BEAT_LOCK_KEY = 0x62656174


def _connect() -> psycopg.Connection[Any]:
    db = settings.DATABASES["default"]
    params: dict[str, Any] = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "autocommit": True,
        "application_name": f"beat-lock-{settings.NODE_CODE}",
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v is not None})


def _watch(lock: psycopg.Connection[Any], every_s: float) -> None:
    """If the session holding the lock ends (database restart, network cut), a standby may take
    the lock: stop scheduling at once rather than run beside it; the supervisor restarts us, as
    a standby."""
    while True:
        time.sleep(every_s)
        try:
            lock.execute("SELECT 1")
        except psycopg.Error:
            print("beat lock lost: stopping so that one beat at most runs", flush=True)
            os._exit(3)


class Command(BaseCommand):
    help = "Run Celery beat under a PostgreSQL advisory lock (one beat per node; others wait)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schedule", default=str(settings.DATA_DIR / "beat-schedule"))
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--retry-every", type=float, default=5.0)

    def handle(self, *args: Any, **options: Any) -> None:
        lock = _connect()
        waiting_said = False
        while True:
            row = lock.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]).fetchone()
            if row and row[0]:
                break
            if not waiting_said:
                self.stdout.write("another beat holds the lock: waiting as a standby", ending="\n")
                self.stdout.flush()
                waiting_said = True
            time.sleep(options["retry_every"])
        self.stdout.write("beat lock taken: this process schedules the periodic tasks")
        self.stdout.flush()
        threading.Thread(target=_watch, args=(lock, 2.0), daemon=True).start()
        from celery.apps.beat import Beat

        from config.celery import app

        try:
            Beat(app=app, schedule=options["schedule"], loglevel=options["loglevel"]).run()
        finally:
            lock.close()
