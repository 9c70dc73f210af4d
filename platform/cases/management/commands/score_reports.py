from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from riskscore.offline import score_jsonl


class Command(BaseCommand):
    help = (
        "Score a JSON-lines file of reports (the documented report schema) offline: group them "
        "into cases and write the ranked cases with score contributions, one JSON line each."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--screening", help="a screening list file (CSL JSON/CSV, OFAC SDN)")

    def handle(self, *args: Any, **options: Any) -> None:
        from cases.services import active_config

        try:
            count = score_jsonl(
                options["input"],
                options["output"],
                screening_path=options["screening"],
                config=active_config(),
            )
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"wrote {count} ranked cases to {options['output']}")
