from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from federation.client import PartnerUnreachable
from federation.models import Partner
from federation.protocol.errors import ProtocolError
from federation.services import audit_anchor


class Command(BaseCommand):
    help = (
        "Audit anchoring. publish: send our signed audit head to every partner now (beat does "
        "it hourly). check CODE: ask partner CODE for a proof that its audit log still extends "
        "the head we hold; prints consistent, rewritten or truncated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["publish", "check"])
        parser.add_argument("partner", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "publish":
                self.stdout.write(json.dumps({"stored_by": audit_anchor.publish_heads()}))
                return
            partner = Partner.objects.filter(code=options["partner"] or "").first()
            if partner is None:
                raise CommandError("check needs the code of a partner")
            self.stdout.write(json.dumps(audit_anchor.check(partner)))
        except (ProtocolError, PartnerUnreachable) as exc:
            raise CommandError(str(exc)) from None
