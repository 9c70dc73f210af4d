from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.authtoken.models import Token

from accounts.models import Role
from accounts.services import create_user
from core.markings import Classification


class Command(BaseCommand):
    help = "Create a user with a role and clearance; --token prints an API token for scripts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", help="omit to create a user who signs in by token only")
        parser.add_argument("--role", default=Role.ANALYST, choices=Role.values)
        parser.add_argument(
            "--clearance", default="OFFICIAL", choices=[c.name for c in Classification]
        )
        parser.add_argument(
            "--staff",
            action="store_true",
            help="may open the read-only admin (trust administrators only)",
        )
        parser.add_argument("--token", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = create_user(
                username=options["username"],
                password=options["password"],
                role=options["role"],
                clearance=Classification[options["clearance"]],
                is_staff=options["staff"],
            )
        except (ValueError, Exception) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created {options['username']} ({options['role']})")
        if options["token"]:
            token, _ = Token.objects.get_or_create(user=user)
            self.stdout.write(f"token {token.key}")
