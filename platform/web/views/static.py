"""Static files served by the node itself (htmx, CSS, JS): air-gapped networks have no CDN,
and a node run by gunicorn alone has no separate web server in front of it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.views import serve
from django.http import FileResponse, Http404, HttpRequest


def static_file(request: HttpRequest, path: str) -> FileResponse:
    if not settings.SERVE_STATIC:
        raise Http404("static files are served by the reverse proxy")
    if ".." in path.split("/") or path.startswith("/") or "\\" in path:
        raise Http404("no such file")
    response = serve(request, path, insecure=True)
    response["Cache-Control"] = "public, max-age=3600"
    return response
