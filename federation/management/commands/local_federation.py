from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.markings import Classification
from federation.client import PartnerUnreachable
from federation.models import Partner
from federation.protocol.errors import ProtocolError
from federation.services import keys, partners

FIVE_EYES = {"us", "uk", "ca", "au", "nz"}


class Command(BaseCommand):
    help = (
        "Set up a node of a local (development) federation. prepare --root-key F "
        "--passphrase-file P: migrate, make keys, run the key ceremony with the demo root (made "
        "if missing), print the root fingerprint. "
        'introduce --peers \'{"uk": ["http://...", "fp"]}\': add partners with the demo trust '
        "policy. connect: fetch every partner's key manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phase", choices=["prepare", "introduce", "connect"])
        parser.add_argument("--peers", default="{}")
        parser.add_argument("--root-key", type=Path)
        parser.add_argument("--passphrase-file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        phase = options["phase"]
        if phase == "prepare":
            call_command("migrate", interactive=False, verbosity=0)
            self._ceremony(options["root_key"], options["passphrase_file"])
            self.stdout.write(keys.root_fingerprint())
        elif phase == "introduce":
            from core.selectors import this_node

            me = this_node().code
            peers: dict[str, list[str]] = json.loads(options["peers"])
            for code, (url, fingerprint) in sorted(peers.items()):
                if code == me:
                    continue
                # Demo trust: Five Eyes partners share up to SECRET, the others CONFIDENTIAL.
                ceiling = "SECRET" if {me, code} <= FIVE_EYES else "CONFIDENTIAL"
                partners.introduce_partner(
                    code=code,
                    base_url=url,
                    root_fingerprint=fingerprint,
                    ceiling=Classification[ceiling],
                    fetch=False,
                )
        else:
            for partner in Partner.objects.all():
                try:
                    partners.refresh_manifest(partner)
                except (PartnerUnreachable, ProtocolError) as exc:
                    raise CommandError(f"{partner.code}: {exc}") from None

    def _ceremony(self, root_key: Path | None, passphrase_file: Path | None) -> None:
        """The demo custodian: the root key file sits outside the node's data directory (it
        stands in for offline media); a ceremony runs when the signed series is short."""
        if root_key is None or passphrase_file is None:
            raise CommandError("prepare needs --root-key and --passphrase-file")
        credentials = ["--root-key", str(root_key), "--passphrase-file", str(passphrase_file)]
        if not root_key.exists():
            call_command("key_ceremony", "new-root", *credentials, stdout=self.stderr)
        keys.ensure_keys()
        end = keys.series_end()
        if keys.latest_manifest() is None or end is None or end - time.time() < 14 * 86400:
            call_command("key_ceremony", "run", *credentials, stdout=self.stderr)
