from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import command_line_actor, record
from federation.models import KeyStatus, OwnKey
from federation.protocol.keys import format_fingerprint
from federation.services import keys


class Command(BaseCommand):
    help = (
        "This node's online keys (the root is offline: see key_ceremony and infra/KEYS.md). "
        "init: make report/request keys if missing (pending until a ceremony); show: list them "
        "with the root fingerprint to give partners; rotate --use report|request (the standby "
        "the root vouched for becomes current); revoke --kid KID --reason TEXT (never used "
        "again from now; the next ceremony tells partners)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["init", "show", "rotate", "revoke", "fingerprint"])
        parser.add_argument("--use", choices=["report", "request"])
        parser.add_argument("--kid")
        parser.add_argument("--reason", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "init":
                created = keys.ensure_keys()
                self.stdout.write("keys created" if created else "keys already present")
            elif action == "rotate":
                if not options["use"]:
                    raise CommandError("--use report|request is required")
                new = keys.rotate(options["use"])
                record(command_line_actor(), "key.rotate", new.kid, {"use": options["use"]})
                self.stdout.write(f"new key {new.kid}")
            elif action == "revoke":
                if not options["kid"]:
                    raise CommandError("--kid is required")
                keys.revoke(options["kid"], options["reason"])
                record(
                    command_line_actor(),
                    "key.revoke",
                    options["kid"],
                    {"reason": options["reason"]},
                )
                self.stdout.write(
                    f"revoked {options['kid']}; run the key ceremony now to tell partners"
                )
            elif action == "fingerprint":
                self.stdout.write(keys.root_fingerprint())
                return
        except (ValueError, OwnKey.DoesNotExist, keys.KeyNotAuthorised) as exc:
            raise CommandError(str(exc)) from None
        for row in OwnKey.objects.order_by("use", "status"):
            self.stdout.write(f"{row.use:8} {row.status:8} {row.kid}")
        root = OwnKey.objects.filter(use="root", status=KeyStatus.CURRENT).first()
        if root:
            self.stdout.write(f"root fingerprint: {format_fingerprint(root.fingerprint)}")
        latest = keys.latest_manifest()
        if latest:
            self.stdout.write(f"manifest version {latest.version}")
