from __future__ import annotations

import json
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
        "Set up a node of a local (development) federation. prepare: migrate, make keys, print "
        'the root fingerprint. introduce --peers \'{"uk": ["http://...", "fp"]}\': add partners '
        "with the demo trust policy. connect: fetch every partner's key manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phase", choices=["prepare", "introduce", "connect"])
        parser.add_argument("--peers", default="{}")

    def handle(self, *args: Any, **options: Any) -> None:
        phase = options["phase"]
        if phase == "prepare":
            call_command("migrate", interactive=False, verbosity=0)
            keys.ensure_keys()
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
