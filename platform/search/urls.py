from django.urls import path

from . import api

urlpatterns = [
    path("search/", api.SearchView.as_view(), name="search"),
    path("entities/<int:entity_id>/", api.EntityView.as_view(), name="entity-detail"),
]
