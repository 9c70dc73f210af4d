from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.screening import import_list
from riskscore.screening_formats import ScreeningFormatError


class Command(BaseCommand):
    help = (
        "Import a screening list (US Consolidated Screening List JSON or CSV, or OFAC SDN.CSV). "
        "A malformed file is refused with the line and field at fault; the active list stays."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--name")
        parser.add_argument("--rescore", action="store_true", help="regroup and rescore after")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row = import_list(options["path"], options["name"])
        except ScreeningFormatError as exc:
            raise CommandError(f"refused, nothing imported: {exc}") from None
        except OSError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"imported {row.entries_count} entries; {row.name} is now active")
        if options["rescore"]:
            from cases.services import regroup_all

            self.stdout.write(f"{regroup_all()} cases scored")
