from django.urls import path

from . import views

app_name = "taxii"

OBJECT = "<str:object_id>"
COLLECTION = "api/collections/<str:collection_id>/"

urlpatterns = [
    path("", views.discovery, name="discovery"),
    path("api/", views.api_root, name="api-root"),
    path("api/collections/", views.collections, name="collections"),
    path(COLLECTION, views.collection, name="collection"),
    path(COLLECTION + "objects/", views.objects, name="objects"),
    path(COLLECTION + f"objects/{OBJECT}/", views.object_detail, name="object"),
    path(COLLECTION + f"objects/{OBJECT}/versions/", views.object_versions, name="versions"),
    path(COLLECTION + "manifest/", views.manifest, name="manifest"),
    path("api/status/<str:status_id>/", views.status, name="status"),
]
