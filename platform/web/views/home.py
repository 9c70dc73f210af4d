from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import Role

from ..access import READERS, current_profile, role_required


@role_required(*READERS)
def home(request: HttpRequest) -> HttpResponse:
    role = current_profile(request).role
    if role == Role.TRUST_ADMIN:
        return redirect("web:partners")
    if role == Role.AUDITOR:
        return redirect("web:audit")
    return redirect("web:cases")  # analysts and releasers start at the triage queue
