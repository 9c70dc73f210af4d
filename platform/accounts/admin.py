from django.contrib import admin

from .models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin[Profile]):
    list_display = ("user", "role", "clearance")
    list_filter = ("role", "clearance")
    search_fields = ("user__username",)
