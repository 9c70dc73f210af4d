from django.urls import path, re_path

from notifications import views as notification_views
from search import views as search_views

from .views import audit, auth, cases, charts, editor, home, reports, static, trust

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("login/verify/", auth.verify_view, name="login-verify"),
    path("login/enrol/", auth.enrol_view, name="login-enrol"),
    path("logout/", auth.logout_view, name="logout"),
    path("admin/login/", auth.admin_login_redirect, name="admin-login"),
    path("cases/", cases.case_queue, name="cases"),
    path("cases/<int:case_id>/", cases.case_detail, name="case-detail"),
    path("cases/<int:case_id>/merge/", cases.case_merge, name="case-merge"),
    path("cases/<int:case_id>/split/", cases.case_split, name="case-split"),
    path("cases/<int:case_id>/status/", cases.case_status, name="case-status"),
    path("cases/<int:case_id>/dispose/", cases.case_dispose, name="case-dispose"),
    path("cases/<int:case_id>/assign/", cases.case_assign, name="case-assign"),
    path("cases/<int:case_id>/notes/", cases.case_note, name="case-note"),
    path(
        "cases/<int:case_id>/merge/candidates/",
        cases.merge_candidates,
        name="case-merge-candidates",
    ),
    path("reports/", reports.report_list, name="reports"),
    path("reports.csv", reports.report_list_csv, name="reports-csv"),
    path("search/", search_views.search_page, name="search"),
    path("search.csv", search_views.search_csv, name="search-csv"),
    path("entities/<int:entity_id>/", search_views.entity_page, name="entity"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/count/", notification_views.notification_count, name="notification-count"),
    path("notifications/read/", notification_views.notification_read, name="notification-read"),
    path(
        "notifications/settings/",
        notification_views.notification_settings,
        name="notification-settings",
    ),
    path("watches/", notification_views.watch_create, name="watch-create"),
    path("watches/<int:watch_id>/delete/", notification_views.watch_delete, name="watch-delete"),
    path("reports/new/", editor.report_new, name="report-new"),
    path("reports/preview/", editor.release_preview_fragment, name="report-preview"),
    path("reports/chip-verdict/", editor.chip_verdict_fragment, name="chip-verdict"),
    path("reports/details-fields/", editor.details_fragment, name="details-fields"),
    path("reports/<uuid:report_id>/", reports.report_detail, name="report-detail"),
    path("reports/<uuid:report_id>/edit/", editor.report_edit, name="report-edit"),
    path("reports/<uuid:report_id>/withdraw/", reports.report_withdraw, name="report-withdraw"),
    path("charts/", charts.charts_page, name="charts"),
    path("trust/partners/", trust.partner_list, name="partners"),
    path("trust/partners/new/", trust.partner_new, name="partner-new"),
    path("trust/partners/<str:code>/status/", trust.partner_status, name="partner-status"),
    path("trust/partners/<str:code>/policy/", trust.partner_policy, name="partner-policy"),
    path(
        "trust/partners/<str:code>/policy/simulate/",
        trust.policy_simulate,
        name="policy-simulate",
    ),
    path(
        "trust/partners/<str:code>/policy/changes/<int:change_id>/",
        trust.policy_decide,
        name="policy-decide",
    ),
    path("trust/keys/", trust.keys_page, name="keys"),
    path("trust/keys/rotate/", trust.key_rotate, name="key-rotate"),
    path("trust/keys/revoke/", trust.key_revoke, name="key-revoke"),
    path("trust/health/", trust.health_page, name="health"),
    path("trust/health/<str:code>/replay/", trust.replay, name="replay"),
    path("trust/sign-ins/", trust.sign_ins_page, name="sign-ins"),
    path("trust/sign-ins/unlock/", trust.sign_in_unlock, name="sign-in-unlock"),
    path(
        "trust/sign-ins/reset-second-factor/",
        trust.sign_in_reset_second_factor,
        name="sign-in-reset-second-factor",
    ),
    path("trust/scoring/", trust.scoring_page, name="scoring"),
    path("trust/scoring/propose/", trust.scoring_propose, name="scoring-propose"),
    path("trust/scoring/<str:version>/decide/", trust.scoring_decide, name="scoring-decide"),
    path("audit/", audit.audit_log, name="audit"),
    re_path(r"^static/(?P<path>.+)$", static.static_file, name="static"),
]
