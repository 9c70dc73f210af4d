from django.urls import path

from . import views

urlpatterns = [
    path("cases/", views.CaseListView.as_view(), name="case-list"),
    path("cases/<int:case_id>/", views.CaseDetailView.as_view(), name="case-detail"),
    path("cases/<int:case_id>/merge/", views.CaseMergeView.as_view(), name="case-merge"),
    path("cases/<int:case_id>/split/", views.CaseSplitView.as_view(), name="case-split"),
]
