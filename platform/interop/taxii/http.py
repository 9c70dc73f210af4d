"""TAXII 2.1 over HTTP: content negotiation, token authentication, TAXII error messages and
hostile-input limits, shared by every endpoint."""

from __future__ import annotations

import base64
import binascii
import functools
import io
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ParseError

from core.api.parsers import StrictJSONParser

from ..selectors import BadRequest
from ..stix.imports import BundleError

log = logging.getLogger(__name__)

TAXII_MEDIA = "application/taxii+json;version=2.1"
MAX_CONTENT_LENGTH = 10 * 1024 * 1024
_MEDIA_RANGE = re.compile(r"^\s*([^;\s]+)\s*(;.*)?$")

View = Callable[..., HttpResponse]


def taxii_response(
    body: dict[str, Any] | str, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    response = HttpResponse(text, status=status, content_type=TAXII_MEDIA)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def taxii_error(status: int, title: str, description: str = "", **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {"title": title, "http_status": str(status)}
    if description:
        body["description"] = description
    if extra:
        body["details"] = extra
    response = taxii_response(body, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Token realm="taxii", Basic realm="taxii"'
    return response


def _accepts_taxii(header: str) -> bool:
    """TAXII 2.1 §1.6.8: `application/taxii+json;version=2.1`, or without a version (the latest
    this server supports); `*/*` and `application/*` are taken to mean the same."""
    if not header.strip():
        return True
    for item in header.split(","):
        match = _MEDIA_RANGE.match(item)
        if match is None:
            continue
        media = match.group(1).lower()
        params = {
            k.strip().lower(): v.strip().strip('"')
            for k, _, v in (
                p.partition("=") for p in (match.group(2) or "").split(";") if p.strip()
            )
        }
        if params.get("q") == "0":
            continue
        if media in ("*/*", "application/*"):
            return True
        if media == "application/taxii+json" and params.get("version", "2.1") == "2.1":
            return True
    return False


def authenticate(request: HttpRequest) -> User | None:
    """An account of this node by its API token: `Authorization: Token|Bearer <key>`, or Basic
    with the username and the token as password (what TAXII clients such as OpenCTI send)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    username = None
    if scheme in ("token", "bearer"):
        key = value.strip()
    elif scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, _, key = decoded.partition(":")
    else:
        return None
    if not key or len(key) > 64:
        return None
    token = Token.objects.select_related("user", "user__profile").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    if username is not None and username != token.user.get_username():
        return None
    return token.user


def read_json_body(request: HttpRequest) -> Any:
    """The request body parsed strictly, after the size, media-type and depth checks."""
    content_type = request.META.get("CONTENT_TYPE", "")
    media = content_type.split(";")[0].strip().lower()
    version = re.search(r"version\s*=\s*([0-9.]+)", content_type)
    if media != "application/taxii+json" or (version and version.group(1) != "2.1"):
        raise _Refusal(415, "Unsupported media type", f"send {TAXII_MEDIA}")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _Refusal(400, "Bad Content-Length") from None
    if declared > MAX_CONTENT_LENGTH:
        raise _Refusal(413, "Too large", f"at most {MAX_CONTENT_LENGTH} bytes")
    raw = request.read(MAX_CONTENT_LENGTH + 1)
    if len(raw) > MAX_CONTENT_LENGTH:
        raise _Refusal(413, "Too large", f"at most {MAX_CONTENT_LENGTH} bytes")
    try:
        return StrictJSONParser().parse(io.BytesIO(raw))
    except ParseError as exc:
        raise _Refusal(400, "Invalid JSON", str(exc.detail)) from None


class _Refusal(Exception):
    def __init__(self, status: int, title: str, description: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.description = description


def taxii_view(methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
    """Negotiate, authenticate and turn every refusal into a TAXII error message."""

    def wrap(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def handler(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = taxii_error(405, "Method not allowed", f"allowed: {', '.join(methods)}")
                response["Allow"] = ", ".join(methods)
                return response
            if not _accepts_taxii(request.META.get("HTTP_ACCEPT", "")):
                return taxii_error(406, "Not acceptable", f"this server speaks {TAXII_MEDIA}")
            user = authenticate(request)
            if user is None:
                return taxii_error(
                    401, "Unauthorized", "send an API token of an account of this node"
                )
            request.user = user
            try:
                return view(request, *args, **kwargs)
            except _Refusal as exc:
                return taxii_error(exc.status, exc.title, exc.description)
            except BadRequest as exc:
                return taxii_error(400, "Bad request", str(exc))
            except BundleError as exc:
                return taxii_error(400, "Objects refused", str(exc), **exc.as_dict())
            except PermissionDenied as exc:
                return taxii_error(403, "Forbidden", str(exc))

        return handler

    return wrap


def not_found(what: str) -> HttpResponse:
    return taxii_error(404, "Not found", what)
