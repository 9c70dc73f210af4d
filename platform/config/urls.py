from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.views import healthz
from ops.views import metrics, readyz

handler404 = "core.views.not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    # The web UI first: it also takes admin/login/ so the admin cannot skip the second factor.
    path("", include("web.urls")),
    path("admin/", admin.site.urls),
    path("", include("federation.api.urls")),
    path("taxii2/", include("interop.taxii.urls")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/<str:version>/", include("reports.api.urls")),
    path("api/<str:version>/", include("accounts.api.urls")),
    path("api/<str:version>/", include("federation.api.analyst_urls")),
    path("api/<str:version>/", include("cases.api.urls")),
    path("api/<str:version>/", include("interop.api_urls")),
    path("api/<str:version>/", include("search.urls")),
]
