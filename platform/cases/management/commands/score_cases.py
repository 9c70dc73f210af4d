from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cases.services import regroup_all, rescore_all


class Command(BaseCommand):
    help = "Regroup every report into cases and score them (--rescore-only: scores only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rescore-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(done: int, total: int) -> None:
            self.stdout.write(f"{done}/{total}")

        if options["rescore_only"]:
            self.stdout.write(f"{rescore_all(progress)} cases rescored")
        else:
            self.stdout.write(f"{regroup_all(progress)} cases")
