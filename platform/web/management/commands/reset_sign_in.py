"""For the help desk: reset a user's authenticator (they enrol again at their next sign-in)
and/or lift a sign-in lock. Both are audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import second_factor
from audit.services import record


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
        if options["totp"]:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"no user {username!r}")
            second_factor.reset_device(user)
            record(f"cli:{options['by']}", "auth.totp_reset", username)
            self.stdout.write(f"{username}: authenticator removed; they enrol at next sign-in")
        if options["unlock"]:
            second_factor.clear_failures(username)
            record(f"cli:{options['by']}", "auth.unlock", username)
            self.stdout.write(f"{username}: sign-in lock lifted")
