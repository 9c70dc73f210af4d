from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from audit.services import command_line_actor, record
from core.markings import Classification
from federation.client import PartnerUnreachable
from federation.models import Delivery, DeliveryState, Partner
from federation.protocol.errors import ProtocolError
from federation.services import outbox, partners


def _csv(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


class Command(BaseCommand):
    help = (
        "Partners. add CODE --url URL --fingerprint HEX [--ceiling SECRET] [--categories a,b] "
        "[--relay-origins x,y]; policy CODE ...; suspend/resume CODE; replay CODE; list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action", choices=["add", "policy", "suspend", "resume", "replay", "list"]
        )
        parser.add_argument("code", nargs="?")
        parser.add_argument("--url")
        parser.add_argument("--fingerprint")
        parser.add_argument("--name")
        parser.add_argument(
            "--ceiling", default="CONFIDENTIAL", choices=[c.name for c in Classification]
        )
        parser.add_argument("--categories", help="comma-separated; empty = all")
        parser.add_argument("--tlp", help="comma-separated TLP colours; empty = all")
        parser.add_argument("--relay-origins", help="comma-separated origin node codes")
        parser.add_argument(
            "--no-fetch",
            action="store_true",
            help="do not fetch the manifest now (the partner is not up yet)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action, code = options["action"], options["code"]
        if action != "list" and not code:
            raise CommandError("a partner code is required")
        try:
            if action == "add":
                if not options["url"] or not options["fingerprint"]:
                    raise CommandError("--url and --fingerprint are required")
                partners.introduce_partner(
                    code=code,
                    base_url=options["url"],
                    root_fingerprint=options["fingerprint"],
                    name=options["name"],
                    ceiling=Classification[options["ceiling"]],
                    categories=_csv(options["categories"]),
                    tlp_allowed=_csv(options["tlp"]),
                    relay_origins=_csv(options["relay_origins"]),
                    fetch=not options["no_fetch"],
                )
                self.stdout.write(f"partner {code} added")
            elif action == "policy":
                partner = Partner.objects.get(code=code)
                with transaction.atomic():  # no policy change without its audit entry
                    partners.set_policy(
                        partner,
                        ceiling=Classification[options["ceiling"]],
                        categories=_csv(options["categories"]),
                        tlp_allowed=_csv(options["tlp"]),
                        relay_origins=_csv(options["relay_origins"]),
                    )
                    record(
                        command_line_actor(),
                        "policy.change",
                        code,
                        {
                            "ceiling": options["ceiling"],
                            "categories": options["categories"],
                            "tlp": options["tlp"],
                            "relay_origins": options["relay_origins"],
                        },
                    )
                self.stdout.write(f"policy for {code} updated")
            elif action in ("suspend", "resume"):
                partners.set_status(
                    Partner.objects.get(code=code), "suspended" if action == "suspend" else "active"
                )
            elif action == "replay":
                self.stdout.write(f"{outbox.replay_dead_letters(code)} dead letters queued again")
        except Partner.DoesNotExist:
            raise CommandError(f"no partner {code}") from None
        except (ValueError, ProtocolError, PartnerUnreachable) as exc:
            raise CommandError(str(exc)) from None
        for partner in Partner.objects.select_related("policy").order_by("code"):
            counts = {
                state: Delivery.objects.filter(partner=partner, state=state).count()
                for state in DeliveryState.values
            }
            self.stdout.write(
                f"{partner.code:4} {partner.status:9} {partner.base_url:28} "
                f"pending={counts['pending']} delivered={counts['delivered']} "
                f"dead={counts['dead']} leak={'YES' if partner.suspected_leak else 'no'}"
            )
