"""Partner API for audit anchoring: receive a partner's signed audit head; give a partner the
proof that our current head extends the one it holds. Signed requests only (RFC 9421)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from federation.models import Partner
from federation.protocol.canonical import canonical_bytes
from federation.protocol.errors import ProtocolError
from federation.services import audit_anchor

from .views import Denied, _parse, _partner_view


def _heads(request: HttpRequest, partner: Partner, body: bytes) -> HttpResponse:
    """POST /fed/v1/audit/heads: the caller's signed audit head, stored."""
    try:
        row = audit_anchor.store_head(partner, _parse(body, partner))
    except ProtocolError as exc:
        raise Denied(400, exc.code, exc.reason, partner.code) from None
    return JsonResponse({"stored": row.seq, "verdict": row.verdict or "stored"})


def _proof(request: HttpRequest, partner: Partner, body: bytes) -> HttpResponse:
    """GET /fed/v1/audit/proof?after=N: our recomputed signed head and the MACs after N."""
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        raise Denied(400, "bad_query", "after is an integer", partner.code) from None
    if after < 0:
        raise Denied(400, "bad_query", "after >= 0", partner.code)
    try:
        answer = audit_anchor.proof(after)
    except ProtocolError as exc:
        raise Denied(400, exc.code, exc.reason, partner.code) from None
    return HttpResponse(canonical_bytes(answer), content_type="application/json")


heads_view = csrf_exempt(require_http_methods(["POST"])(_partner_view(_heads)))
proof_view = csrf_exempt(require_GET(_partner_view(_proof)))
