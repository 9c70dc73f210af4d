"""Signed HTTP calls to partners (RFC 9421 over method, authority, target URI and digest)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from core.selectors import this_node

from .models import KeyUse, Partner
from .protocol.canonical import DEFAULT_LIMITS, canonical_bytes, strict_loads
from .protocol.errors import ProtocolError
from .protocol.httpsig import sign_request
from .services.keys import current_key

_local = threading.local()
JSON = "application/json"


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        _local.session = session
    return session


class PartnerUnreachable(Exception):
    """The partner did not answer, or answered with a server error: retry later."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def signed_request(partner: Partner, method: str, path: str, payload: Any = None) -> Answer:
    url = f"{partner.base_url.rstrip('/')}{path}"
    body = canonical_bytes(payload) if payload is not None else b""
    headers = {"Content-Type": JSON, "Accept": JSON}
    headers.update(
        sign_request(
            method, url, headers, body, current_key(KeyUse.REQUEST), this_node().code, time.time()
        )
    )
    try:
        response = _session().request(
            method,
            url,
            data=body,
            headers=headers,
            timeout=(3, settings.FEDERATION_HTTP_TIMEOUT_S),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise PartnerUnreachable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if response.status_code >= 500 or response.status_code == 429:
        # Never the body: a partner's error page is not ours to show on the health page.
        raise PartnerUnreachable(f"HTTP {response.status_code}")
    try:
        parsed = strict_loads(response.content, DEFAULT_LIMITS) if response.content else None
    except ProtocolError as exc:
        raise PartnerUnreachable(f"unreadable answer: {exc.reason}") from None
    return Answer(response.status_code, parsed)


def fetch_manifest(base_url: str, timeout: tuple[float, float] = (3, 10)) -> bytes:
    """The partner's published key manifest, raw (verified by the caller against the pins)."""
    try:
        response = _session().get(
            f"{base_url.rstrip('/')}/.well-known/fed-keys", timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as exc:
        raise PartnerUnreachable(f"{type(exc).__name__}: {str(exc)[:200]}") from None
    if response.status_code != 200:
        raise PartnerUnreachable(f"manifest: HTTP {response.status_code}")
    return response.content
