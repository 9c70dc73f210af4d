from __future__ import annotations

import platform

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for launchers and load balancers: the node answers, its database and broker too."""
    # platform.python_version() fails loudly if platform/ ever shadowed the stdlib module.
    status = {
        "node": settings.NODE_CODE,
        "database": "ok",
        "broker": "ok",
        "python": platform.python_version(),
    }
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        status["database"] = "down"
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
    except Exception:
        status["broker"] = "down"
    healthy = status["database"] == "ok" and status["broker"] == "ok"
    return JsonResponse(status, status=200 if healthy else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a URL no route matches: JSON in the API's error shape under /api/ (a client
    asking for `/api/v1/cases/abc/` should not get an HTML page), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "no such API resource"}, status=404)
    return page_not_found(request, exception)
