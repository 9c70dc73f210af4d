"""Browser tests: Debian's Chromium, headless, driven by Playwright for Python against
pytest-django's live server. Playwright never downloads a browser of its own here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from django.utils import timezone

from accounts.models import TOTPDevice
from accounts.services import create_user
from core.markings import Classification

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as actions do: on a loaded 2-core machine an htmx round trip
    # (the live 3A090 verdict) took longer than Playwright's default 5 s.
    expect.set_options(timeout=15_000)

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (infra/bootstrap.py does)")
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls the tests
    # make between browser steps are ordinary synchronous ones. Only while the browser runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    context = chromium.new_context(
        viewport={"width": 1360, "height": 900}, base_url=live_server.url
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def make_user(username: str, role: str, clearance: str = "SECRET", *, enrolled: bool = True) -> Any:
    user = create_user(
        username=username, password=PASSWORD, role=role, clearance=Classification[clearance]
    )
    if enrolled:
        TOTPDevice.objects.create(user=user, secret=pyotp.random_base32(32), confirmed=True)
    return user


def current_code(user: Any) -> str:
    device = TOTPDevice.objects.get(user=user)
    return pyotp.TOTP(device.secret).at(timezone.now().timestamp())


def sign_in(page: Any, user: Any) -> None:
    """Password, then the current TOTP code (each user signs in once per 30 s step)."""
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(current_code(user))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def fill_chip_report(page: Any, title: str, summary: str, model: str, quantity: int) -> None:
    """The editor's first fields for a chip-diversion report (B2 sourcing, one chip line)."""
    page.get_by_label("Title").fill(title)
    page.get_by_label("Summary").fill(summary)
    page.get_by_label("Source reliability").select_option("B")
    page.get_by_label("Information credibility").select_option("2")
    page.get_by_label("Chip model").fill(model)
    page.get_by_label("Quantity").fill(str(quantity))


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
