from django.urls import path

from . import views

urlpatterns = [
    path("cases/", views.CaseListView.as_view(), name="case-list"),
    path("cases/<int:case_id>/", views.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:case_id>/merge/", views.CaseMergeView.as_view(), name="case-merge"),
    path("cases/<int:case_id>/split/", views.CaseSplitView.as_view(), name="case-split"),
    path("cases/<int:case_id>/status/", views.CaseStatusView.as_view(), name="case-status"),
    path("cases/<int:case_id>/dispose/", views.CaseDisposeView.as_view(), name="case-dispose"),
    path("cases/<int:case_id>/assign/", views.CaseAssignView.as_view(), name="case-assign"),
    path("cases/<int:case_id>/notes/", views.CaseNotesView.as_view(), name="case-notes"),
]
