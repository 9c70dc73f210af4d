from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from audit.roles import grant_application_role


class Command(BaseCommand):
    help = (
        "Run as the owner role after migrating: let ROLE (the application's database role) "
        "use every table, with INSERT and SELECT only on the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role")

    def handle(self, *args: Any, **options: Any) -> None:
        grant_application_role(connection, options["role"])
        self.stdout.write(f"granted {options['role']}: INSERT and SELECT only on the audit log")
