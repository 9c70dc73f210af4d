"""Partners from the command line, through the same services (and the same rules) as the trust
console: introducing a partner leaves it suspended with the narrowest policy; a policy change is
proposed by one trust administrator and approved by another; suspending, resuming and replaying
dead letters need a trust administrator. `--by` names the account acting, whose role and
clearance the service checks; every change and every refusal is audited under that name."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.markings import Classification
from federation.client import PartnerUnreachable
from federation.models import Delivery, DeliveryState, Partner, PartnerStatus
from federation.protocol.errors import ProtocolError
from web import services


def _csv(value: str | None) -> frozenset[str]:
    return frozenset(item.strip() for item in (value or "").split(",") if item.strip())


def _refusal(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    return " ".join(getattr(exc, "messages", [str(exc)]))


class Command(BaseCommand):
    help = (
        "Partners, through the trust console's services. add CODE --url URL --fingerprint HEX "
        "(suspended, narrowest policy); repin CODE --fingerprint HEX (a partner's new root); "
        "policy CODE --ceiling LEVEL [--categories a,b] [--tlp c,d] [--relay-origins x,y] "
        "--reason TEXT (a proposal); approve CHANGE (by another administrator); "
        "suspend|resume|replay CODE; list. Every action but list takes --by USER."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "action",
            choices=["add", "repin", "policy", "approve", "suspend", "resume", "replay", "list"],
        )
        parser.add_argument("code", nargs="?", help="a partner code (approve: the change number)")
        parser.add_argument("--by", help="the trust administrator acting (their username)")
        parser.add_argument("--url")
        parser.add_argument("--fingerprint")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--ceiling", default="CONFIDENTIAL", choices=[c.name for c in Classification]
        )
        parser.add_argument("--categories", help="comma-separated; empty = all")
        parser.add_argument("--tlp", help="comma-separated TLP colours; empty = all")
        parser.add_argument("--relay-origins", help="comma-separated origin node codes")
        parser.add_argument("--reason", default="", help="why the policy should change")
        parser.add_argument("--note", default="", help="the approver's note")

    def handle(self, *args: Any, **options: Any) -> None:
        action, code = options["action"], options["code"]
        if action != "list":
            if not code:
                raise CommandError("a partner code (or, for approve, a change number) is needed")
            try:
                self.stdout.write(self._act(action, code, self._actor(options), options))
            except Partner.DoesNotExist:
                raise CommandError(f"no partner {code}") from None
            except (ValidationError, PermissionDenied) as exc:
                raise CommandError(f"refused: {_refusal(exc)}") from None
            except (ValueError, ProtocolError, PartnerUnreachable) as exc:
                raise CommandError(str(exc)) from None
        self._list()

    def _actor(self, options: dict[str, Any]) -> User:
        if not options["by"]:
            raise CommandError("--by USERNAME: the trust administrator acting")
        user = User.objects.filter(username=options["by"]).first()
        if user is None:
            raise CommandError(f"no user {options['by']}")
        return user

    def _act(self, action: str, code: str, user: User, options: dict[str, Any]) -> str:
        if action == "add":
            if not options["url"] or not options["fingerprint"]:
                raise CommandError("--url and --fingerprint are required")
            services.onboard_partner(
                user=user,
                code=code,
                base_url=options["url"],
                fingerprint=options["fingerprint"],
                name=options["name"],
            )
            return f"partner {code} added, suspended, with the narrowest policy"
        if action == "repin":
            if not options["fingerprint"]:
                raise CommandError("--fingerprint is required")
            changed = services.repin_partner_root(
                user=user, partner_code=code, fingerprint=options["fingerprint"]
            )
            return (
                f"partner {code}: {'new root pinned' if changed else 'that root is already pinned'}"
            )
        if action == "policy":
            change = services.propose_policy_change(
                user=user,
                partner=Partner.objects.get(code=code),
                proposal=services.PolicyInput(
                    ceiling=Classification[options["ceiling"]],
                    categories=_csv(options["categories"]),
                    tlp_allowed=_csv(options["tlp"]),
                    relay_origins=_csv(options["relay_origins"]),
                ),
                reason=options["reason"],
            )
            return f"policy change {change.pk} for {code} proposed: another administrator approves"
        if action == "approve":
            if not code.isdigit():
                raise CommandError("approve takes the change number that policy printed")
            change = services.approve_policy_change(
                user=user, change_id=int(code), note=options["note"]
            )
            return f"policy change {change.pk} for {change.partner.code}: {change.state}"
        if action in ("suspend", "resume"):
            status = PartnerStatus.SUSPENDED if action == "suspend" else PartnerStatus.ACTIVE
            partner = Partner.objects.get(code=code)
            services.change_partner_status(user=user, partner=partner, status=status)
            return f"partner {code} {status}"
        count = services.replay(user=user, partner_code=code)
        return f"{count} dead letters and held copies queued again"

    def _list(self) -> None:
        for partner in Partner.objects.select_related("policy").order_by("code"):
            counts = {
                state: Delivery.objects.filter(partner=partner, state=state).count()
                for state in DeliveryState.values
            }
            self.stdout.write(
                f"{partner.code:4} {partner.status:9} {partner.base_url:28} "
                f"pending={counts['pending']} delivered={counts['delivered']} "
                f"dead={counts['dead']} held={counts['held']} "
                f"leak={'YES' if partner.suspected_leak else 'no'}"
            )
