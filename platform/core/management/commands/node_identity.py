from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.selectors import this_node
from core.services import set_node_identity


class Command(BaseCommand):
    help = "Show or set this node's code, display name and groups (e.g. --groups fvey)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code")
        parser.add_argument("--name")
        parser.add_argument("--groups", help="comma-separated group codes, e.g. fvey")

    def handle(self, *args: Any, **options: Any) -> None:
        current = this_node()
        if options["code"] or options["name"] or options["groups"] is not None:
            groups = (
                options["groups"].split(",") if options["groups"] is not None else current.groups
            )
            try:
                set_node_identity(
                    code=options["code"] or current.code,
                    name=options["name"] or current.name,
                    groups=list(groups),
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            current = this_node()
        self.stdout.write(f"{current.code} {current.name} groups={','.join(current.groups)}")
