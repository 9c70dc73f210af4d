from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.services import activate_config, active_config
from riskscore.engine import ConfigError


class Command(BaseCommand):
    help = (
        "The risk score's weights, priors and decay. show: print the active configuration as "
        "JSON (a starting point for a new one); activate FILE: validate a configuration with a "
        "new version name, make it active and rescore every case."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["show", "activate"])
        parser.add_argument("path", nargs="?")
        parser.add_argument("--note", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "show":
            self.stdout.write(json.dumps(active_config().to_dict(), indent=2))
            return
        if not options["path"]:
            raise CommandError("give the configuration file to activate")
        try:
            data = json.loads(Path(options["path"]).read_text())
            config = activate_config(data, note=options["note"])
        except (OSError, json.JSONDecodeError, ConfigError, ValueError) as exc:
            raise CommandError(f"not activated: {exc}") from None
        self.stdout.write(f"configuration {config.version} is active; rescoring every case")
