from __future__ import annotations

from typing import Any

from accounts.models import Role

from .conftest import add_partner, html


def test_every_page_renders_for_its_role(client_as: Any, make_report: Any, db: Any) -> None:
    add_partner("uk")
    version = make_report()
    analyst = client_as(Role.RELEASER)
    for url in [
        "/reports/",
        f"/reports/{version.report_id}/",
        "/reports/new/",
        f"/reports/{version.report_id}/edit/",
        "/charts/",
    ]:
        response = analyst.get(url)
        assert response.status_code == 200, (url, html(response)[:3000])
    admin = client_as(Role.TRUST_ADMIN)
    for url in [
        "/trust/partners/",
        "/trust/partners/new/",
        "/trust/partners/uk/policy/",
        "/trust/keys/",
        "/trust/health/",
    ]:
        response = admin.get(url)
        assert response.status_code == 200, (url, html(response)[:3000])
    auditor = client_as(Role.AUDITOR)
    response = auditor.get("/audit/")
    assert response.status_code == 200, html(response)[:3000]
