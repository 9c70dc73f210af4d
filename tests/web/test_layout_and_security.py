"""Markings banner colours (WCAG AA), every asset served by the node itself (no CDN, no outside
fonts), a strict Content-Security-Policy and no caching of signed-in pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from web.marking import PALETTE, contrast

from .conftest import html

STATIC = Path(__file__).resolve().parents[2] / "platform" / "web" / "static" / "web"


@pytest.mark.parametrize(("level", "colours"), list(PALETTE.items()))
def test_banner_colours_pass_wcag_aa(level: Any, colours: tuple[str, str]) -> None:
    background, text = colours
    assert contrast(text, background) >= 4.5
    css = (STATIC / "web.css").read_text()
    rule = re.search(rf"\.banner-{level.name.lower()} {{([^}}]*)}}", css)
    assert rule is not None
    assert f"background: {background}" in rule.group(1)
    assert f"color: {text}" in rule.group(1)


def test_text_and_link_colours_pass_wcag_aa() -> None:
    for foreground in ("#0b0c0c", "#3c4245", "#1d4f91", "#a4161a", "#00703c"):
        assert contrast(foreground, "#ffffff") >= 4.5
        assert contrast(foreground, "#f3f2f1") >= 4.5  # panels


def case_urls(make_report: Any) -> list[str]:
    """The queue and a case view, with a case of two linked reports."""
    from cases.models import Case
    from cases.services import regroup_all

    version = make_report(classification="CONFIDENTIAL")
    make_report(classification="CONFIDENTIAL", title="The same consignee again")
    make_report(
        classification="CONFIDENTIAL",
        title="Another case",
        details={
            "items": [{"model": "H20", "quantity": 8}],
            "consignee": {"name": "Invented Other Consignee Ltd", "country": "AE"},
        },
    )
    regroup_all()
    case = Case.objects.get(members__report_id=version.report_id)
    return ["/cases/", f"/cases/{case.pk}/"]


def test_pages_load_nothing_from_outside(client_as: Any, make_report: Any) -> None:
    version = make_report()
    client = client_as(Role.RELEASER)
    urls = [*case_urls(make_report), f"/reports/{version.report_id}/", "/reports/new/"]
    for url in ("/reports/", *urls, "/charts/"):
        page = html(client.get(url))
        for attribute in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert not attribute.startswith(("http:", "https:", "//")), (url, attribute)
        assert "/static/django_htmx/htmx-2.min.js" in page
    login = html(Client().get("/login/"))
    assert "fonts.googleapis" not in login
    assert "cdn" not in login.lower()


def test_the_node_serves_htmx_and_its_own_assets(db: Any) -> None:
    client = Client()
    for path in ("/static/django_htmx/htmx-2.min.js", "/static/web/web.css", "/static/web/web.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert client.get("/static/../config/settings.py").status_code == 404


def test_pages_carry_a_strict_csp_and_are_not_cached(client_as: Any) -> None:
    response = client_as(Role.ANALYST).get("/reports/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in Client().get("/login/")


def test_no_inline_scripts_or_styles(client_as: Any, make_report: Any) -> None:
    version = make_report()
    client = client_as(Role.RELEASER)
    urls = [*case_urls(make_report), f"/reports/{version.report_id}/", "/reports/new/"]
    for url in ("/reports/", *urls, "/charts/"):
        page = html(client.get(url))
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None, url
        assert "<style" not in page, url
        assert ' style="' not in page, url


def test_every_page_with_classified_content_has_banners_top_and_bottom(
    client_as: Any, make_report: Any
) -> None:
    version = make_report(classification="CONFIDENTIAL")
    client = client_as(Role.RELEASER)
    for url in (
        *case_urls(make_report),
        "/reports/",
        f"/reports/{version.report_id}/",
        f"/reports/{version.report_id}/edit/",
        "/charts/",
    ):
        page = html(client.get(url))
        assert page.count("banner banner-confidential") == 2, url
        assert (
            page.index('id="banner-top"') < page.index("<main") < page.index('id="banner-bottom"')
        )


def test_form_controls_have_labels(client_as: Any, make_report: Any) -> None:
    """Every input, select and textarea is named by a <label for>, a wrapping <label> or an
    aria-label (hidden inputs and buttons aside)."""
    make_report()
    client = client_as(Role.RELEASER)
    admin = client_as(Role.TRUST_ADMIN)
    pages = [client.get("/reports/new/"), client.get("/reports/"), client.get("/charts/")]
    pages += [client.get(url) for url in case_urls(make_report)]
    case_page = pages[-1]
    case_id = case_page.request["PATH_INFO"].split("/")[2]
    candidates = client.get(
        f"/cases/{case_id}/merge/candidates/", {"q": "Invented Other"}
    )  # a case title names its consignee
    assert 'type="checkbox" name="cases"' in html(candidates)
    pages.append(candidates)
    pages += [admin.get("/trust/partners/new/"), admin.get("/trust/keys/")]
    for response in pages:
        page = html(response)
        labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', page))
        for tag in re.finditer(r"<(input|select|textarea)\b([^>]*)>", page):
            attrs = tag.group(2)
            if 'type="hidden"' in attrs or "aria-label=" in attrs:
                continue
            control_id = re.search(r'id="([^"]+)"', attrs)
            wrapped = page.rfind("<label", 0, tag.start()) > page.rfind("</label>", 0, tag.start())
            assert wrapped or (control_id and control_id.group(1) in labelled), attrs
