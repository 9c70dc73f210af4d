"""Learning from dispositions on the command line: the same services as the trust console's
scoring page, acting as the named trust administrator (their role is checked, the two-person
rule holds), with the operating-system account that ran the command in the audit entry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import command_line_actor
from cases.models import ScoringConfigVersion
from cases.refit import activate_proposed, propose_refit, reject_proposed

METRICS = (
    ("ndcg50", "NDCG@50", True),
    ("average_precision", "Average precision", True),
    ("brier", "Brier score", False),
)


def comparison_lines(row: ScoringConfigVersion, top: int = 10) -> list[str]:
    """The held-out comparison as text: metrics, then the largest weight changes."""
    ev = row.evaluation
    lines = [
        f"{row.version}: fitted on {ev['trained_on']} dispositions, compared on "
        f"{ev['held_out']} held back ({ev['dispositions']} in all; "
        f"{ev['confirmed']} confirmed, {ev['dismissed']} dismissed)",
        f"{'':20} {'fitted':>9} {ev['base_version'][:20]:>20}",
    ]
    for key, label, higher in METRICS:
        fitted, active = ev["fitted"][key], ev["active"][key]
        better = (fitted > active) if higher else (fitted < active)
        mark = "  better" if better else ("" if fitted == active else "  worse")
        lines.append(f"{label:20} {fitted:9.4f} {active:20.4f}{mark}")
    lines.append("largest weight changes:")
    for change in ev["weights"][:top]:
        lines.append(
            f"  {change['feature']:32} {change['before']:8.4f} -> {change['after']:8.4f} "
            f"({change['change']:+.4f})"
        )
    return lines


class Command(BaseCommand):
    help = (
        "Refit the risk score to analysts' dispositions. propose: fit the weights to the closed "
        "cases (confirmed = 1, dismissed = 0), starting from the active configuration, compare "
        "both on the held-back dispositions and store the result as a proposed configuration; "
        "activate VERSION / reject VERSION: a second trust administrator decides it. --by "
        "names the trust administrator acting."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["propose", "activate", "reject"])
        parser.add_argument("version", nargs="?", help="the proposed version (activate, reject)")
        parser.add_argument("--by", required=True, help="username of the trust administrator")
        parser.add_argument("--note", default="", help="why the refit is proposed")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["by"], is_active=True).first()
        if user is None:
            raise CommandError(f"no active user {options['by']!r}")
        action, version = options["action"], options["version"]
        if action != "propose" and not version:
            raise CommandError(f"give the version to {action}")
        via = command_line_actor()
        try:
            if action == "propose":
                row = propose_refit(user, note=options["note"], via=via)
                self.stdout.write("\n".join(comparison_lines(row)))
                self.stdout.write(
                    f"{row.version} is proposed; another trust administrator activates it "
                    f"(scoring_refit activate {row.version} --by THEM) or rejects it"
                )
            elif action == "activate":
                row = activate_proposed(user, version, via=via)
                self.stdout.write(f"{row.version} is active; rescoring every case")
            else:
                row = reject_proposed(user, version, via=via)
                self.stdout.write(f"{row.version} is rejected")
        except (PermissionDenied, ValidationError) as exc:
            messages = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
            raise CommandError(" ".join(messages)) from None
