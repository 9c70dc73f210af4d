from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser

from accounts.models import Role
from accounts.services import create_user
from core.markings import Classification
from core.selectors import this_node
from reports.demo import demo_reports
from reports.models import Report, Status
from reports.services import create_report


class Command(BaseCommand):
    help = "Seed this node with demo reports (invented names) and a demo releaser account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=48)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--password", help="password for the demo accounts")

    def handle(self, *args: Any, **options: Any) -> None:
        node = this_node().code
        # One account per role, so every screen can be tried; all share the demo password.
        accounts = [
            (f"{node}.releaser", Role.RELEASER, Classification.SECRET, True),
            (f"{node}.analyst", Role.ANALYST, Classification.CONFIDENTIAL, False),
            (f"{node}.admin", Role.TRUST_ADMIN, Classification.SECRET, True),
            (f"{node}.admin2", Role.TRUST_ADMIN, Classification.SECRET, True),
            (f"{node}.auditor", Role.AUDITOR, Classification.OFFICIAL, False),
        ]
        for username, role, clearance, staff in accounts:
            if not User.objects.filter(username=username).exists():
                create_user(
                    username=username,
                    password=options["password"],
                    role=role,
                    clearance=clearance,
                    is_staff=staff,
                )
        author = User.objects.get(username=f"{node}.releaser")
        if Report.objects.filter(origin=node).exists():
            self.stdout.write(f"{node}: demo reports already present")
            return
        made = 0
        for demo in demo_reports(node, options["count"], options["seed"]):
            create_report(
                author=author,
                content=demo.content,
                status=Status.PUBLISHED if demo.publish else Status.DRAFT,
            )
            made += 1
        self.stdout.write(f"{node}: seeded {made} demo reports")
