from django.contrib import admin

from .models import NodeIdentity


@admin.register(NodeIdentity)
class NodeIdentityAdmin(admin.ModelAdmin[NodeIdentity]):
    list_display = ("code", "name", "groups", "updated_at")
