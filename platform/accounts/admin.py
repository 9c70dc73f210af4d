"""Profiles (role, clearance) are changed in the trust console through the accounts services,
never in the admin. Sign-in throttles and second-factor devices are shown read-only here;
unlocking and resetting a second factor are trust-console actions (audited)."""

from django.contrib import admin

from core.adminsite import ReadOnlyAdmin

from .models import LoginThrottle, TOTPDevice


@admin.register(LoginThrottle)
class LoginThrottleAdmin(ReadOnlyAdmin[LoginThrottle]):
    list_display = ("username", "failures", "locked_until", "last_failure_at")
    search_fields = ("username",)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(ReadOnlyAdmin[TOTPDevice]):
    list_display = ("user", "confirmed", "created_at", "confirmed_at")
    exclude = ("secret",)
