from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from accounts.models import Role
from accounts.selectors import profile_of
from core.markings import Classification
from core.selectors import this_node
from notifications.selectors import unread_count

from ..access import fully_signed_in

register = template.Library()

NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("web:cases", "Cases", (Role.ANALYST, Role.RELEASER, Role.TRUST_ADMIN, Role.AUDITOR)),
    ("web:reports", "Reports", (Role.ANALYST, Role.RELEASER, Role.TRUST_ADMIN, Role.AUDITOR)),
    ("web:report-new", "New report", (Role.ANALYST, Role.RELEASER)),
    ("web:charts", "Charts", (Role.ANALYST, Role.RELEASER, Role.TRUST_ADMIN, Role.AUDITOR)),
    ("web:partners", "Partners", (Role.TRUST_ADMIN,)),
    ("web:keys", "Keys", (Role.TRUST_ADMIN,)),
    ("web:health", "Federation health", (Role.TRUST_ADMIN,)),
    ("web:sign-ins", "Sign-ins", (Role.TRUST_ADMIN,)),
    ("web:scoring", "Risk score", (Role.TRUST_ADMIN,)),
    ("web:audit", "Audit log", (Role.AUDITOR,)),
]


@register.inclusion_tag("web/partials/nav.html", takes_context=True)
def nav(context: template.Context) -> dict[str, Any]:
    request: HttpRequest = context["request"]
    profile = profile_of(request.user)
    signed_in = fully_signed_in(request) and profile is not None
    current = request.resolver_match.view_name if request.resolver_match else ""
    links = []
    if signed_in and profile is not None:
        links = [(url, label, url == current) for url, label, roles in NAV if profile.role in roles]
    return {
        "links": links,
        "signed_in": signed_in,
        "user": request.user,
        "role": Role(profile.role).label if profile else "",
        "clearance": Classification(profile.clearance).name if profile else "",
        "node": this_node(),
        "csrf_token": context.get("csrf_token"),
        "unread": unread_count(request.user) if signed_in else 0,
    }


@register.filter
def level_name(value: int | None) -> str:
    return Classification(int(value)).name if value else ""


@register.filter
def level_css(value: int | None) -> str:
    return f"level-{Classification(int(value)).name.lower()}" if value else ""


@register.filter
def get(mapping: Any, key: Any) -> Any:
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.filter
def upper_list(values: Any) -> str:
    return ", ".join(str(v).upper() for v in values or [])


@register.filter
def thousands(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def fingerprint(value: str) -> str:
    """64 hex in groups of four, as read aloud at a key ceremony."""
    text = str(value or "")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@register.filter
def human(value: Any) -> str:
    """A stored code as people read it ("freight_forwarder" -> "Freight forwarder")."""
    from ..labels import human as label

    return label(value)


@register.filter
def human_list(values: Any) -> str:
    """Stored codes as people read them, comma-separated ("Chip diversion, Military AI")."""
    from ..labels import human as label

    return ", ".join(label(v) for v in sorted(values or []))


@register.filter
def country_name(value: Any) -> str:
    from ..countries import country_name as name

    return name(str(value or ""))


@register.simple_tag
def entity_name(name: str, ids: dict[str, int] | None, entity_id: int | None = None) -> str:
    """A party's name linked to its entity page (every entity on every page is a pivot)."""
    from django.urls import reverse
    from django.utils.html import format_html

    from reports.services import normalise_name

    found = entity_id or (ids or {}).get(normalise_name(str(name or ""))[:300])
    if not found:
        return format_html("{}", name)
    return format_html(
        '<a href="{}" data-entity-link>{}</a>', reverse("web:entity", args=[found]), name
    )
