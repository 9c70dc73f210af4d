from __future__ import annotations

from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from psycopg import sql
from psycopg.conninfo import make_conninfo


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database if it does not exist (first deployment)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recreate",
            action="store_true",
            help="drop it first (throwaway test federations only; refused for other names)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        db = settings.DATABASES["default"]
        params = {
            "host": db.get("HOST"),
            "port": db.get("PORT"),
            "user": db.get("USER"),
            "password": db.get("PASSWORD"),
            "dbname": "postgres",
        }
        conninfo = make_conninfo(**{k: str(v) for k, v in params.items() if v})
        name = str(db["NAME"])
        if options["recreate"] and not name.startswith("e2e_"):
            raise CommandError("--recreate is only for throwaway e2e_* databases")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            if options["recreate"]:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (db["NAME"],)
            ).fetchone()
            if not found:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(db["NAME"]))))
                self.stdout.write(f"created database {db['NAME']}")
            else:
                self.stdout.write(f"database {db['NAME']} exists")
