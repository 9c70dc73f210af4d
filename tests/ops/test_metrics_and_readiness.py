"""/metrics and /readyz read durable state: outbox rows, refusals, heartbeats, manifests."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from federation.models import AnonymousRefusal, Delivery, DeliveryState, Refusal
from ops import services
from ops.models import Heartbeat
from tests.conftest import chip_report
from tests.federation.partners import register_partner

pytestmark = pytest.mark.django_db
TOKEN = "invented-metrics-token-0123456789"


def _sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} missing from:\n{text[:2000]}"
    return float(match.group(1))


def _scrape(client: Client) -> str:
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    return answer.content.decode()


@pytest.fixture
def token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def test_metrics_refuse_a_missing_or_wrong_token(token: str) -> None:
    client = Client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")


def test_metrics_are_off_when_no_token_is_configured(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_metrics_show_outbox_dead_letters_refusals_and_latency(
    token: str, releaser: APIClient
) -> None:
    register_partner("uk")
    for n in range(3):
        body = {**chip_report(title=f"Invented consignment {n}"), "status": "published"}
        assert releaser.post("/api/v1/reports/", body, format="json").status_code == 201
    Delivery.objects.filter(partner__code="uk").update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    Delivery.objects.filter(partner__code="uk", seq=1).update(state=DeliveryState.DEAD)
    Refusal.objects.create(partner="ca", code="not_entitled", reason="Invented refusal")
    for hour in (1, 2):  # counted per hour: the gauge adds the counts up
        AnonymousRefusal.objects.create(
            code="missing_header",
            path="/fed/v1/inbox",
            hour=timezone.now() - timedelta(hours=hour),
            count=7,
            reason="header signature-input is required",
            first_seen=timezone.now(),
            last_seen=timezone.now(),
        )
    text = _scrape(Client())
    assert _sample(text, "exchange_outbox_pending", '{partner="uk"}') == 2
    assert _sample(text, "exchange_dead_letters", '{partner="uk"}') == 1
    assert _sample(text, "exchange_outbox_oldest_age_seconds", '{partner="uk"}') >= 89
    assert _sample(text, "exchange_refusal_rows", '{code="not_entitled"}') == 1
    assert _sample(text, "exchange_anonymous_refusals", '{code="missing_header"}') == 14
    assert _sample(text, "exchange_manifest_expires_in_seconds", '{node="uk"}') > 0
    assert _sample(text, "exchange_unscored_reports") >= 0
    # the three API calls above were timed
    assert (
        _sample(
            text,
            "exchange_request_seconds_count",
            '{method="POST",route="report-list",status="2xx"}',
        )
        >= 3
    )


def test_readiness_needs_beat_and_a_worker_on_every_queue(settings: Any) -> None:
    client = Client()
    stale = client.get("/readyz")
    assert stale.status_code == 503
    assert stale.json()["checks"]["beat"] == "stale"
    for queue in ("default", "federation", "scoring", "manifests"):
        services.beat(f"worker:{queue}")
    services.beat("beat")
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["ready"] is True
    Heartbeat.objects.filter(name="worker:scoring").update(
        seen_at=timezone.now() - timedelta(seconds=settings.READY_HEARTBEAT_S + 1)
    )
    answer = client.get("/readyz").json()
    assert answer["checks"]["worker:scoring"] == "stale"
    assert answer["ready"] is False


def test_readiness_fails_when_due_deliveries_wait_but_not_when_a_partner_backs_off(
    releaser: APIClient,
) -> None:
    for name in (
        "beat",
        "worker:default",
        "worker:federation",
        "worker:scoring",
        "worker:manifests",
    ):
        services.beat(name)
    register_partner("uk")
    body = {**chip_report(), "status": "published"}
    assert releaser.post("/api/v1/reports/", body, format="json").status_code == 201
    # backing off (due later): ready
    Delivery.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=10))
    assert Client().get("/readyz").status_code == 200
    # due ten minutes ago and nobody took it: the workers are not keeping up
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    late = Client().get("/readyz")
    assert late.status_code == 503
    assert late.json()["checks"]["outbox"].startswith("late")
