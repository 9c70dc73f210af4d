from django.contrib import admin

from .adminsite import ReadOnlyAdmin
from .models import NodeIdentity


@admin.register(NodeIdentity)
class NodeIdentityAdmin(ReadOnlyAdmin[NodeIdentity]):
    list_display = ("code", "name", "groups", "updated_at")
