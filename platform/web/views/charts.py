"""Charts of the reports the user may see, drawn on the server as SVG."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..access import READERS, role_required
from ..charts import build_charts
from ..marking import page_banner

PERIODS = (3, 6, 12, 24)


@role_required(*READERS)
def charts_page(request: HttpRequest) -> HttpResponse:
    months_text = request.GET.get("months", "12")
    months = int(months_text) if months_text.isdigit() and int(months_text) in PERIODS else 12
    charts = build_charts(request.user, months)
    context = {
        "charts": charts,
        "months": months,
        "periods": PERIODS,
        "banner": page_banner(charts.levels),
    }
    if getattr(request, "htmx", False):
        return render(request, "web/charts/_charts.html", {**context, "oob": True})
    return render(request, "web/charts/page.html", context)
