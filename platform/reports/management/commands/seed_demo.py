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
        author = User.objects.filter(username=f"{node}.releaser").first()
        if author is None:
            author = create_user(
                username=f"{node}.releaser",
                password=options["password"],
                role=Role.RELEASER,
                clearance=Classification.SECRET,
                is_staff=True,
                is_superuser=True,
            )
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
