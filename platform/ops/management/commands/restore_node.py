from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, DatabaseTarget, restore

from .backup_node import read_passphrase


class Command(BaseCommand):
    help = (
        "Restore a node from a backup into an empty database and a data directory without keys. "
        "Then start it: partners' pushes and the catch-up pull bring what it missed since."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("backup")
        parser.add_argument("--passphrase-file", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            restore(
                Path(options["backup"]),
                DatabaseTarget.from_settings(settings.DATABASES["default"]),
                Path(settings.DATA_DIR),
                read_passphrase(options["passphrase_file"]),
            )
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"node {settings.NODE_CODE} restored from {options['backup']}")
