"""Watchlists and notifications: computed from durable state, never above the recipient's
clearance, shown in the UI with a counter, sent by e-mail (a local SMTP server) and by signed
webhook (a local HTTP server), and run by a real Celery worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from federation.models import Delivery, DeliveryState, Envelope
from notifications import services
from notifications.models import Notification, Watch
from reports.models import Entity, ReportVersion
from reports.services import record_received_version

from ..support.processes import (
    database_url,
    free_port,
    procfile_commands,
    running,
    wait_for_text,
)
from .conftest import add_partner, content, html, signed_in

CONSIGNEE = "Harbourfront Logistics Pte Ltd"
NORMALISED = "harbourfront logistics pte ltd"


def chip(consignee: str, serial: str) -> dict[str, Any]:
    return {
        "items": [{"model": "H100 SXM", "quantity": 480, "serials": [serial]}],
        "consignee": {"name": consignee, "country": "SG"},
        "route": ["US", "SG", "CN"],
    }


def received(title: str, classification: str = "CONFIDENTIAL", serial: str = "HF-1") -> Any:
    return record_received_version(
        report_id=uuid.uuid4(),
        origin="uk",
        version_number=1,
        content=content(
            title=title, classification=classification, details=chip(CONSIGNEE, serial)
        ),
        status="published",
    )


def later() -> Any:
    return timezone.now() + timedelta(seconds=1)


@pytest.fixture
def watched(make_report: Callable[..., ReportVersion], make_web_user: Any) -> dict[str, Any]:
    """A CONFIDENTIAL analyst watching the consignee (named in one earlier report)."""
    make_report(title="First sighting", details=chip(CONSIGNEE, "HF-0"))
    analyst = make_web_user(Role.ANALYST, "CONFIDENTIAL")
    entity = Entity.objects.get(
        kind="organisation", normalized_name="harbourfront logistics pte ltd"
    )
    watch = services.watch(analyst, "entity", str(entity.pk))
    return {"analyst": analyst, "entity": entity, "watch": watch}


def test_a_partner_report_naming_a_watched_entity_notifies(watched: dict[str, Any]) -> None:
    version = received("Port call in Klang")
    assert services.compute_notifications(later()) == 1
    note = Notification.objects.get(user=watched["analyst"])
    assert "Port call in Klang" in note.title
    assert note.link == f"/reports/{version.report_id}/?version=1"
    assert services.compute_notifications(later()) == 0  # once only


def test_nothing_above_the_clearance_is_notified(watched: dict[str, Any]) -> None:
    received("Northern bureau order", classification="SECRET")
    assert services.compute_notifications(later()) == 0
    assert not Notification.objects.filter(user=watched["analyst"]).exists()


def test_the_header_counts_and_the_list_marks_read(watched: dict[str, Any]) -> None:
    received("Port call in Klang")
    services.compute_notifications(later())
    client = signed_in(watched["analyst"])
    page = html(client.get("/reports/"))
    assert 'aria-label="1 unread"' in page
    listed = html(client.get("/notifications/"))
    assert "Port call in Klang" in listed
    assert listed.count("banner banner-confidential") == 2  # the titles are marked, top and tail
    client.post("/notifications/read/")
    assert 'aria-label="1 unread"' not in html(client.get("/notifications/count/"))


def test_a_watch_on_an_entity_one_may_not_see_is_refused(
    make_report: Any, make_web_user: Any
) -> None:
    make_report(classification="SECRET", title="Hidden", details=chip("Obsidian Lantern", "OL-1"))
    entity = Entity.objects.get(kind="organisation", normalized_name="obsidian lantern")
    low = make_web_user(Role.ANALYST, "CONFIDENTIAL")
    client = signed_in(low)
    client.post("/watches/", {"kind": "entity", "target": str(entity.pk)})
    assert not Watch.objects.filter(user=low).exists()


def test_serial_and_search_watches(make_web_user: Any, db: Any) -> None:
    analyst = make_web_user(Role.ANALYST, "SECRET")
    services.watch(analyst, "serial", "hf-77")
    services.watch(analyst, "search", "harbourfront")
    received("Serial seen again", serial="HF-77")
    services.compute_notifications(later())
    kinds = sorted(Notification.objects.filter(user=analyst).values_list("kind", flat=True))
    assert kinds == ["watch_search", "watch_serial"]


def test_administrators_hear_of_dead_letters_analysts_may_not_subscribe(
    make_web_user: Any, make_report: Any
) -> None:
    admin = make_web_user(Role.TRUST_ADMIN, "SECRET")
    analyst = make_web_user(Role.ANALYST, "SECRET")
    services.subscribe(admin, ["dead_letter", "partner_unreachable"])
    with pytest.raises(PermissionDenied):
        services.subscribe(analyst, ["dead_letter"])
    partner = add_partner("uk")
    version = make_report(title="Released")
    envelope = Envelope.objects.filter(report_id=version.report_id).first()
    assert envelope is not None
    Delivery.objects.filter(envelope=envelope, partner=partner).update(
        state=DeliveryState.DEAD, attempts=15
    )
    partner.consecutive_failures = 9
    partner.save()
    services.compute_notifications(later())
    titles = list(Notification.objects.filter(user=admin).values_list("title", flat=True))
    assert any(t.startswith("Dead letter: delivery") and "UK" in t for t in titles)
    assert any("UK unreachable" in t for t in titles)
    assert not Notification.objects.filter(user=analyst).exists()


# --------------------------------------------------------------------------------------------
# E-mail and webhook, to servers these tests start
# --------------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[list[Any], int]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    inbox: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            inbox.append(message)

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    seen: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


def test_email_and_signed_webhook_never_carry_classified_titles(
    watched: dict[str, Any], smtp_server: Any, webhook_server: Any, settings: Any
) -> None:
    inbox, port = smtp_server
    url, seen = webhook_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    channel = services.set_channels(
        watched["analyst"], email="analyst@example.org", webhook_url=url
    )
    received("Port call in Klang")
    services.compute_notifications(later())
    assert services.deliver_pending() == 1
    assert len(inbox) == 1
    mail = inbox[0]
    assert mail["To"] == "analyst@example.org"
    assert "Port call in Klang" not in mail.get_payload()  # CONFIDENTIAL: level and link only
    assert "CONFIDENTIAL" in mail.get_payload()
    headers, body = seen[0]
    stamp, signature = (part.split("=", 1)[1] for part in headers["X-Allied-Signature"].split(","))
    expected = hmac.new(
        channel.webhook_secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert json.loads(body)["classification"] == "CONFIDENTIAL"
    assert "Klang" not in body.decode()
    assert services.deliver_pending() == 0  # sent once


# --------------------------------------------------------------------------------------------
# The real Celery worker computes them
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_celery_task_computes_notifications(
    make_report: Any, make_web_user: Any, tmp_path: Path
) -> None:
    from notifications.tasks import compute_and_send

    make_report(title="First sighting", details=chip(CONSIGNEE, "HF-0"))
    analyst = make_web_user(Role.ANALYST, "CONFIDENTIAL")
    entity = Entity.objects.get(
        kind="organisation", normalized_name="harbourfront logistics pte ltd"
    )
    services.watch(analyst, "entity", str(entity.pk))
    Watch.objects.update(checked_until=timezone.now() - timedelta(minutes=5))
    with transaction.atomic():  # as the inbox records a batch
        received("Arrived while the worker ran")
    db = connection.settings_dict
    url = database_url(db)
    log = tmp_path / "worker.log"
    env = {"WORKER_CONCURRENCY": "1", "DATABASE_URL": url}
    with running(procfile_commands()["worker"], env, log):
        wait_for_text(log, "ready.")
        # (a message left in the broker by another test may run first and do the work)
        compute_and_send.delay().get(timeout=60)
    assert Notification.objects.filter(user=analyst, title__contains="Arrived").exists()
