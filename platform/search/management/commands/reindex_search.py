from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from search.services import reindex_all


class Command(BaseCommand):
    help = (
        "Rebuild every report's search document from its current version, in batches of "
        "report ids, one transaction each (after a bulk load or a restore)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=20_000, help="reports per transaction")
        parser.add_argument(
            "--rebuild-indexes",
            action="store_true",
            help="drop the search GIN indexes first and build them once at the end (faster "
            "for a full rebuild; searches are slower until it finishes)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()

        def progress(done: int) -> None:
            self.stdout.write(f"{done:,} documents ({time.perf_counter() - started:.0f} s)")

        done = reindex_all(options["batch"], progress, rebuild_indexes=options["rebuild_indexes"])
        self.stdout.write(
            self.style.SUCCESS(
                f"{done:,} search documents rebuilt in {time.perf_counter() - started:.1f} s"
            )
        )
