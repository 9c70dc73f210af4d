from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, DatabaseTarget, create


def read_passphrase(path: str | None) -> bytes:
    if not path:
        raise CommandError("--passphrase-file is required (a file only the operator can read)")
    try:
        return Path(path).read_bytes().strip()
    except OSError as exc:
        raise CommandError(f"cannot read the passphrase file: {exc.strerror}") from None


class Command(BaseCommand):
    help = (
        "Back up this node (database and data directory with its keys), sealed with a passphrase."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="file to create (must not exist)")
        parser.add_argument("--passphrase-file", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        if out.exists():
            raise CommandError(f"{out} exists: backups are never overwritten")
        try:
            size = create(
                DatabaseTarget.from_settings(settings.DATABASES["default"]),
                Path(settings.DATA_DIR),
                out,
                read_passphrase(options["passphrase_file"]),
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"backup of node {settings.NODE_CODE} written to {out} ({size} bytes)")
