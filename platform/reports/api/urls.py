from django.urls import path

from . import chip_views, views

urlpatterns = [
    path("reports/", views.ReportListView.as_view(), name="report-list"),
    path("reports/<str:report_id>/", views.ReportDetailView.as_view(), name="report-detail"),
    path(
        "reports/<str:report_id>/versions/",
        views.ReportHistoryView.as_view(),
        name="report-history",
    ),
    path(
        "reports/<str:report_id>/versions/<int:number>/",
        views.ReportVersionView.as_view(),
        name="report-version",
    ),
    path(
        "reports/<str:report_id>/withdraw/",
        views.ReportWithdrawView.as_view(),
        name="report-withdraw",
    ),
    path("chips/", chip_views.ChipCatalogueView.as_view(), name="chip-catalogue"),
    path("chips/classify/", chip_views.ChipClassifyView.as_view(), name="chip-classify"),
]
