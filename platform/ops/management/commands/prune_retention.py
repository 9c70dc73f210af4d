from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.services import command_line_actor
from ops import retention


class Command(BaseCommand):
    help = (
        "Delete refusals, inbound transaction records, delivered outbox rows and sign-in "
        "throttles past their retention windows (RETENTION_*), as beat does hourly; never the "
        "audit log. --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
        parser.add_argument("--chunk", type=int, default=retention.CHUNK)
        parser.add_argument(
            "--max-chunks",
            type=int,
            default=retention.MAX_CHUNKS,
            help="statements per table (raise it to catch up on a backlog)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = retention.prune(
            actor=command_line_actor(),
            dry_run=options["dry_run"],
            chunk=max(1, options["chunk"]),
            max_chunks=max(1, options["max_chunks"]),
        )
        verb = "would delete" if options["dry_run"] else "deleted"
        for table, n in counts.items():
            self.stdout.write(f"{table}: {verb} {n}")
