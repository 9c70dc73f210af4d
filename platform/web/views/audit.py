"""The audit log for auditors: entries, and a check of the whole hash chain."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from audit.selectors import actions, recent_entries, redacted_above, verify_chain

from ..access import current_profile, role_required


@role_required(Role.AUDITOR)
def audit_log(request: HttpRequest) -> HttpResponse:
    action = request.GET.get("action", "")[:60]
    actor = request.GET.get("actor", "")[:150]
    page = Paginator(recent_entries(action or None, actor or None), 50).get_page(
        request.GET.get("page")
    )
    # Entries about content above the auditor's clearance keep their place but not their names.
    page.object_list = redacted_above(page.object_list, current_profile(request).clearance)
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
