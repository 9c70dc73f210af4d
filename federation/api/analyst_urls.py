from django.urls import path

from .analyst_views import ProvenanceView

urlpatterns = [
    path("reports/<str:report_id>/provenance/", ProvenanceView.as_view(), name="report-provenance"),
]
