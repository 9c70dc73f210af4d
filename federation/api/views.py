"""The partner-facing API. Only requests signed (RFC 9421) by an active partner's current
request key get in; there is no session or token authentication here, and nothing in a body is
parsed before its signature verified. Every refusal is a 4xx with a machine code and a reason,
and is recorded: a partner's in a `Refusal` row, one no partner signed in its anonymous count
(`services.anonymous`), whose allowance per client address is checked before anything else
(429 once used). An unexpected fault is never a bare 500: it is logged, recorded as an
``internal_error`` refusal and answered 503 with the same JSON shape (a sender retries a 503
later)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from federation.models import Partner, PartnerStatus
from federation.noncestore import DatabaseNonceStore
from federation.protocol.canonical import DEFAULT_LIMITS, canonical_bytes, strict_loads
from federation.protocol.errors import ProtocolError
from federation.protocol.httpsig import verify_request
from federation.protocol.keys import PublicKey
from federation.selectors import manifest_views
from federation.services import anonymous, catchup, inbox, keys, partners

log = logging.getLogger(__name__)
_nonces = DatabaseNonceStore()


class Denied(Exception):
    def __init__(self, status: int, code: str, reason: str, partner: str = "") -> None:
        super().__init__(reason)
        self.status, self.code, self.reason, self.partner = status, code, reason, partner


def _refuse(request: HttpRequest, denied: Denied) -> JsonResponse:
    address = str(request.META.get("REMOTE_ADDR", ""))
    if denied.partner:
        inbox.record_refusal(
            denied.partner, denied.code, denied.reason, remote_addr=address, path=request.path
        )
    else:  # no partner signed it: counted, and against the address's allowance
        anonymous.record(
            denied.code,
            denied.reason,
            remote_addr=address,
            path=request.path,
            counts=denied.code != inbox.INTERNAL_ERROR,
        )
    return JsonResponse({"code": denied.code, "reason": denied.reason}, status=denied.status)


def _rate_limited(request: HttpRequest, wait: int) -> JsonResponse:
    address = str(request.META.get("REMOTE_ADDR", ""))
    reason = (
        f"over {settings.FEDERATION_ANONYMOUS_LIMIT} refused unsigned or unverifiable requests "
        f"from this address within {settings.FEDERATION_ANONYMOUS_WINDOW_S} s; retry in {wait} s"
    )
    anonymous.record_rate_limited(reason, remote_addr=address, path=request.path)
    response = JsonResponse({"code": anonymous.RATE_LIMITED, "reason": reason}, status=429)
    response["Retry-After"] = str(wait)
    return response


def _fault(request: HttpRequest, exc: Exception, partner: str) -> JsonResponse:
    """An unexpected error answering a partner: logged, recorded, and a JSON 503 (retry)."""
    log.exception("unexpected error answering %s %s from %r", request.method, request.path, partner)
    reason = f"this node failed unexpectedly ({type(exc).__name__}); retry later"
    return _refuse(request, Denied(503, inbox.INTERNAL_ERROR, reason, partner))


def _resolve_request_key(node: str, kid: str) -> PublicKey:
    partner = Partner.objects.filter(code=node).first()
    if partner is None:
        raise ProtocolError("unknown_partner", f"{node[:16]!r} is not a partner of this node")
    if partner.status != PartnerStatus.ACTIVE:
        raise ProtocolError("partner_suspended", f"partner {node} is suspended")
    try:
        return _request_key_on_file(node, kid)
    except ProtocolError as exc:
        # A key we do not know may be the partner's newest: fetch its manifest and decide
        # this very request on it (rate-limited), rather than refuse until the hourly refresh.
        if exc.code != "unknown_key" or not partners.refresh_for_unknown_key(partner):
            raise
    return _request_key_on_file(node, kid)


def _request_key_on_file(node: str, kid: str) -> PublicKey:
    view = manifest_views().get(node)
    if view is None:
        raise ProtocolError("unknown_key", f"no key manifest on file for {node}")
    return view.key_for(kid, "request", int(time.time()))


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise Denied(413, "too_large", "request body over the size limit") from None


def authenticate(request: HttpRequest, body: bytes) -> Partner:
    url = f"{settings.NODE_PUBLIC_URL}{request.get_full_path()}"
    headers = dict(request.headers.items())
    try:
        verified = verify_request(
            request.method or "GET",
            url,
            headers,
            body,
            expected_authority=urlsplit(settings.NODE_PUBLIC_URL).netloc,
            resolve_key=_resolve_request_key,
            nonce_store=_nonces,
            now=time.time(),
        )
    except ProtocolError as exc:
        raise Denied(401, exc.code, exc.reason) from None
    return Partner.objects.select_related("policy").get(code=verified.node)


def _parse(body: bytes, partner: Partner) -> Any:
    try:
        return strict_loads(body, DEFAULT_LIMITS)
    except ProtocolError as exc:
        status = 413 if exc.code == "too_large" else 400
        raise Denied(status, exc.code, exc.reason, partner.code) from None


def _partner_view(
    handler: Callable[[HttpRequest, Partner, bytes], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        partner: Partner | None = None
        try:
            # Before the body is read or anything verified: a flood costs a Redis round trip.
            wait = anonymous.wait_seconds(str(request.META.get("REMOTE_ADDR", "")))
            if wait is not None:
                return _rate_limited(request, wait)
            body = _body(request)
            partner = authenticate(request, body)
            return handler(request, partner, body)
        except Denied as denied:
            return _refuse(request, denied)
        except inbox.Refused as refusal:
            code = partner.code if partner else ""
            return _refuse(request, Denied(400, refusal.code, refusal.reason, code))
        except Exception as exc:  # never a bare 500 to a partner
            return _fault(request, exc, partner.code if partner else "")

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


def _inbox(request: HttpRequest, partner: Partner, body: bytes) -> HttpResponse:
    """POST /fed/v1/inbox: a batch of envelopes; one result per item."""
    parsed = _parse(body, partner)
    try:
        answer = inbox.receive_batch(partner, parsed)
    except inbox.Refused as refusal:
        raise Denied(400, refusal.code, refusal.reason, partner.code) from None
    return HttpResponse(canonical_bytes(answer), content_type="application/json")


def _log(request: HttpRequest, partner: Partner, body: bytes) -> HttpResponse:
    """GET /fed/v1/log?after=N&limit=M: our log for the caller, for catch-up."""
    try:
        after = int(request.GET.get("after", "0"))
        limit = int(request.GET.get("limit", str(catchup.MAX_PULL)))
    except ValueError:
        raise Denied(400, "bad_query", "after and limit are integers", partner.code) from None
    if after < 0 or limit < 1:
        raise Denied(400, "bad_query", "after >= 0 and limit >= 1", partner.code)
    answer = catchup.log_entries(partner, after, limit)
    return HttpResponse(canonical_bytes(answer), content_type="application/json")


def _notify(request: HttpRequest, partner: Partner, body: bytes) -> HttpResponse:
    """POST /fed/v1/keys/notify: the caller published a new manifest (e.g. a revocation).

    Verified like every partner request before its body is parsed. A partner that revokes its
    request key signs with the standby its root already vouched for (in the manifest we hold);
    one signed with a key we do not know yet makes us fetch the partner's manifest first, as
    for the inbox (`_resolve_request_key`)."""
    try:
        manifest = partners.store_manifest(partner, _parse(body, partner))
    except ProtocolError as exc:
        raise Denied(400, exc.code, exc.reason, partner.code) from None
    return JsonResponse({"node": manifest.node, "version": manifest.version})


inbox_view = csrf_exempt(require_http_methods(["POST"])(_partner_view(_inbox)))
log_view = csrf_exempt(require_GET(_partner_view(_log)))
notify_view = csrf_exempt(require_http_methods(["POST"])(_partner_view(_notify)))


@require_GET
def manifest_view(request: HttpRequest) -> HttpResponse:
    """GET /.well-known/fed-keys: this node's signed key manifest (public)."""
    latest = keys.latest_manifest()
    if latest is None:
        return JsonResponse({"code": "no_keys", "reason": "this node has no keys yet"}, status=503)
    return HttpResponse(canonical_bytes(latest.body), content_type="application/json")
