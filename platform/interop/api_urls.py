from django.urls import path

from . import api

urlpatterns = [
    path("reports/<uuid:report_id>/stix/", api.ReportStixView.as_view(), name="report-stix"),
    path("cases/<int:case_id>/stix/", api.CaseStixView.as_view(), name="case-stix"),
    path("stix/imports/", api.ImportView.as_view(), name="stix-import"),
    path("stix/imports/<int:run_id>/", api.ImportDetailView.as_view(), name="stix-import-detail"),
    path("stix/pull-sources/", api.PullSourceView.as_view(), name="stix-pull-sources"),
    path(
        "stix/pull-sources/<int:source_id>/pull/", api.PullNowView.as_view(), name="stix-pull-now"
    ),
]
