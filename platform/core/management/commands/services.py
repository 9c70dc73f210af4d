from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.embedded import services_running, stop_services


class Command(BaseCommand):
    help = (
        "The embedded PostgreSQL and Redis servers (used when DATABASE_URL/REDIS_URL are unset). "
        "status: which are running; stop: stop both (every node on this machine sharing them "
        "loses its database and broker)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.USING_EMBEDDED_SERVICES:
            raise CommandError("this node uses DATABASE_URL and REDIS_URL: no embedded servers")
        directory = settings.EMBEDDED_SERVICES_DIR
        if options["action"] == "stop":
            stop_services(directory)
        running = services_running(directory)
        for name in ("postgres", "redis"):
            state = "running" if running[name] else "stopped"
            self.stdout.write(f"{name}: {state} ({directory / name})")
