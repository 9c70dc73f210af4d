"""For the help desk: reset a user's authenticator (they enrol again at their next sign-in)
and/or lift a sign-in lock. The same services as the trust console's sign-ins page, so both
write the same audit entries; the actor is `cli:<--by>`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from web.services import CommandLine, reset_second_factor, unlock_sign_in


class Command(BaseCommand):
    help = "Reset a user's TOTP authenticator (--totp) and/or lift a sign-in lock (--unlock)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--totp", action="store_true", help="remove the authenticator")
        parser.add_argument("--unlock", action="store_true", help="clear failed sign-ins")
        parser.add_argument("--by", default="operator", help="who asked (for the audit log)")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        if not options["totp"] and not options["unlock"]:
            raise CommandError("say what to reset: --totp, --unlock or both")
        actor = CommandLine(options["by"])
        if options["totp"]:
            try:
                reset_second_factor(user=actor, username=username)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(f"{username}: authenticator removed; they enrol at next sign-in")
        if options["unlock"]:
            unlock_sign_in(user=actor, username=username)
            self.stdout.write(f"{username}: sign-in lock lifted")
