"""The audit log for auditors: entries, and a check of the whole hash chain."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from audit.selectors import actions, recent_entries, verify_chain

from ..access import role_required


@role_required(Role.AUDITOR)
def audit_log(request: HttpRequest) -> HttpResponse:
    action = request.GET.get("action", "")[:60]
    actor = request.GET.get("actor", "")[:150]
    page = Paginator(recent_entries(action or None, actor or None), 50).get_page(
        request.GET.get("page")
    )
    chain = verify_chain()
    broken = {b.seq for b in chain.breaks}
    return render(
        request,
        "web/audit/log.html",
        {
            "page": page,
            "chain": chain,
            "broken": broken,
            "actions": actions(),
            "action": action,
            "actor": actor,
        },
    )
