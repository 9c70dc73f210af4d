from django.urls import path

from . import views

urlpatterns = [
    path(".well-known/fed-keys", views.manifest_view, name="fed-keys"),
    path("fed/v1/inbox", views.inbox_view, name="fed-inbox"),
    path("fed/v1/log", views.log_view, name="fed-log"),
    path("fed/v1/keys/notify", views.notify_view, name="fed-keys-notify"),
]
