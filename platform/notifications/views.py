"""Notification list, counter, watches and settings pages (thin: services write)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from web.access import READERS, current_user, has_role, role_required
from web.marking import page_banner

from . import selectors, services
from .models import EventKind, WatchKind

PAGE = 100


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@role_required(*READERS)
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.notifications_for(request.user)[:PAGE])
    return render(
        request,
        "notifications/list.html",
        {
            "rows": rows,
            "unread": sum(1 for n in rows if n.read_at is None),
            "banner": page_banner(n.classification for n in rows),
        },
    )


@require_GET
@role_required(*READERS)
def notification_count(request: HttpRequest) -> HttpResponse:
    """htmx: the header's counter, polled."""
    return render(
        request, "notifications/_count.html", {"unread": selectors.unread_count(request.user)}
    )


@require_POST
@role_required(*READERS)
def notification_read(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()]
    services.mark_read(current_user(request), ids or None)
    return redirect("web:notifications")


@require_POST
@role_required(*READERS)
def watch_create(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    target = request.POST.get("target", "")
    try:
        found = services.watch(current_user(request), kind, target)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Watching {found.label}: you are told when it changes.")
    return redirect(_back(request, "/notifications/settings/"))


@require_POST
@role_required(*READERS)
def watch_delete(request: HttpRequest, watch_id: int) -> HttpResponse:
    services.unwatch(current_user(request), watch_id)
    messages.success(request, "No longer watched.")
    return redirect(_back(request, "/notifications/settings/"))


@role_required(*READERS)
def notification_settings(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    admin = has_role(request, Role.TRUST_ADMIN)
    errors: list[str] = []
    if request.method == "POST":
        try:
            services.set_channels(
                user,
                email=request.POST.get("email", "").strip(),
                webhook_url=request.POST.get("webhook_url", "").strip(),
            )
            if admin:
                services.subscribe(user, request.POST.getlist("events"))
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, "Notification settings saved.")
            return redirect("web:notification-settings")
    return render(
        request,
        "notifications/settings.html",
        {
            "watches": list(selectors.watches_of(user)),
            "channel": selectors.channel_of(user),
            "admin": admin,
            "events": EventKind.choices,
            "subscribed": selectors.subscriptions_of(user),
            "errors": errors,
            "watch_kinds": WatchKind.choices,
        },
        status=400 if errors else 200,
    )
