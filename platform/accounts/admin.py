from django.contrib import admin

from .models import LoginThrottle, Profile, TOTPDevice


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin[Profile]):
    list_display = ("user", "role", "clearance")
    list_filter = ("role", "clearance")
    search_fields = ("user__username",)


@admin.register(LoginThrottle)
class LoginThrottleAdmin(admin.ModelAdmin[LoginThrottle]):
    list_display = ("username", "failures", "locked_until", "last_failure_at")
    search_fields = ("username",)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(admin.ModelAdmin[TOTPDevice]):
    list_display = ("user", "confirmed", "created_at", "confirmed_at")
    exclude = ("secret",)
