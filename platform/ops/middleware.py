"""Request ids, the access log and the latency histogram, for every request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from . import logs
from .metrics import REQUEST_SECONDS

access = logging.getLogger("exchange.access")
# A request id from the proxy is kept only when it looks like one (no log injection).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _route(request: HttpRequest) -> str:
    match = request.resolver_match
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


def client_address(request: HttpRequest) -> str:
    """The client's address: behind a trusted proxy (TRUSTED_PROXIES), the nearest address in
    X-Forwarded-For that is not itself a trusted proxy; otherwise the socket's peer. Audit and
    refusal rows then name the client, not nginx."""
    peer = str(request.META.get("REMOTE_ADDR", ""))
    trusted: list[str] = settings.TRUSTED_PROXIES
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:45]
    return peer


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token_id = logs.request_id.set(rid)
        token_partner = logs.partner.set("")
        request.META["REMOTE_ADDR"] = client_address(request)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            response["X-Request-ID"] = rid
            route = _route(request)
            REQUEST_SECONDS.labels(
                request.method or "", route, f"{response.status_code // 100}xx"
            ).observe(elapsed)
            access.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "status": response.status_code,
                    "route": route,
                    "ms": round(elapsed * 1000, 1),
                    "client": request.META.get("REMOTE_ADDR", ""),
                },
            )
            return response
        finally:
            logs.request_id.reset(token_id)
            logs.partner.reset(token_partner)
