"""The Django admin as a read-only window on the node's technical state.

Every change to reports, cases, profiles, partners, policies and keys goes through its service
(role and clearance checked, audited); the admin is not one of those doors. It shows technical
models only (keys, manifests, deliveries, refusals, sign-in throttles, imports), never content
above anyone's clearance, and only to a trust administrator signed in with both factors.
Django's own superuser flag grants nothing here: permissions are decided by the profile.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db.models import Model
from django.http import HttpRequest

M = TypeVar("M", bound=Model)


def may_use_admin(request: HttpRequest) -> bool:
    """Active staff account, trust administrator role, both sign-in factors checked."""
    from accounts.models import Role
    from accounts.selectors import profile_of
    from web.access import fully_signed_in

    if not fully_signed_in(request) or not getattr(request.user, "is_staff", False):
        return False
    profile = profile_of(request.user)
    return bool(request.user.is_active and profile and profile.role == Role.TRUST_ADMIN)


class NodeAdminSite(admin.AdminSite):
    site_header = "Node administration (read only)"
    site_title = "Node administration"
    index_title = "Technical state; changes are made in the trust console"

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request)


class NodeAdminConfig(AdminConfig):
    default_site = "core.adminsite.NodeAdminSite"


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    """View only, for whoever may use the admin at all; no add, change, delete or actions."""

    actions: Any = ()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_use_admin(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
