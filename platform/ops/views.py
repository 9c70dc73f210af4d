"""/metrics (Prometheus text format, behind a bearer token) and /readyz (everything a load
balancer should know before it sends traffic: database, broker, workers, beat, outbox lag)."""

from __future__ import annotations

import hmac

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import exposition
from .selectors import node_health
from .tasks import QUEUES


def _authorised(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorised(request):
        refused = JsonResponse(
            {"error": "unauthorised", "reason": "send Authorization: Bearer <METRICS_TOKEN>"},
            status=401,
        )
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database and broker answer, beat and a worker for every queue have beaten
    within READY_HEARTBEAT_S, and no partner's due deliveries wait longer than READY_OUTBOX_LATE_S
    (a partner that is down backs off: its rows are not due, so it does not make us unready)."""
    checks: dict[str, str] = {"database": "ok" if _database_ok() else "down"}
    checks["broker"] = "ok" if _broker_ok() else "down"
    if checks["database"] == "ok":
        health = node_health()
        limit = settings.READY_HEARTBEAT_S
        for name in ["beat", *(f"worker:{q}" for q in QUEUES)]:
            age = health.heartbeat_age_s.get(name)
            checks[name] = "ok" if age is not None and age <= limit else "stale"
        late = max((row.oldest_due_late_s for row in health.outbox.values()), default=0.0)
        checks["outbox"] = "ok" if late <= settings.READY_OUTBOX_LATE_S else f"late {late:.0f} s"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"node": settings.NODE_CODE, "ready": ready, "checks": checks}, status=200 if ready else 503
    )
