from django.urls import path

from . import audit_views, views

urlpatterns = [
    path(".well-known/fed-keys", views.manifest_view, name="fed-keys"),
    path("fed/v1/inbox", views.inbox_view, name="fed-inbox"),
    path("fed/v1/log", views.log_view, name="fed-log"),
    path("fed/v1/keys/notify", views.notify_view, name="fed-keys-notify"),
    path("fed/v1/audit/heads", audit_views.heads_view, name="fed-audit-heads"),
    path("fed/v1/audit/proof", audit_views.proof_view, name="fed-audit-proof"),
]
