"""Fixtures for the web UI tests: users with a confirmed authenticator, signed-in clients,
reports at chosen markings (local and received from partners), and partners with policies."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from django.test import Client

from accounts.models import Role, TOTPDevice
from accounts.services import create_user
from core.markings import Classification
from federation.models import Partner
from federation.services.partners import introduce_partner, set_status
from reports.models import ReportVersion, Status
from reports.services import ReportContent, create_report, record_received_version
from web.access import SECOND_FACTOR_KEY

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_hasher(settings: Any, request: Any) -> None:
    """Argon2 costs ~0.3 s a hash: only the sign-in tests (REAL_HASHER = True) pay for it."""
    if not getattr(request.module, "REAL_HASHER", False):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_web_user(db: Any) -> Callable[..., Any]:
    counter = {"n": 0}

    def make(
        role: str = Role.ANALYST,
        clearance: str = "SECRET",
        *,
        username: str | None = None,
        enrolled: bool = True,
    ) -> Any:
        counter["n"] += 1
        user = create_user(
            username=username or f"web-{role}-{clearance.lower()}-{counter['n']}",
            password=PASSWORD,
            role=role,
            clearance=Classification[clearance],
        )
        if enrolled:
            TOTPDevice.objects.create(user=user, secret=pyotp.random_base32(32), confirmed=True)
        return user

    return make


def signed_in(user: Any) -> Client:
    """A client past both factors (the session flag the TOTP step sets)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[SECOND_FACTOR_KEY] = True
    session.save()
    return client


@pytest.fixture
def client_as(make_web_user: Callable[..., Any]) -> Callable[..., Client]:
    def make(role: str = Role.ANALYST, clearance: str = "SECRET") -> Client:
        return signed_in(make_web_user(role, clearance))

    return make


def content(**overrides: Any) -> ReportContent:
    """A valid chip-diversion report; tests change one thing at a time."""
    fields: dict[str, Any] = {
        "title": "Invented shipment of H100 SXM via Singapore",
        "summary": "Declared for a data centre; onward movement suspected.",
        "category": "chip_diversion",
        "classification": "CONFIDENTIAL",
        "rel_to": ["fvey", "jp"],
        "orcon": False,
        "tlp": "amber",
        "source_reliability": "B",
        "info_credibility": 2,
        "details": {
            "items": [{"model": "H100 SXM", "quantity": 480}],
            "consignee": {"name": "Lumen Harbor Trading Pte Ltd", "country": "SG"},
            "route": ["US", "SG", "MY", "CN"],
        },
    }
    fields.update(overrides)
    return ReportContent(**fields)


@pytest.fixture
def make_report(make_web_user: Callable[..., Any]) -> Callable[..., ReportVersion]:
    """A local report (by a releaser, so it may be published) or one received from `origin`."""
    author: dict[str, Any] = {"user": None}

    def make(
        *, status: str = Status.PUBLISHED, origin: str | None = None, **overrides: Any
    ) -> ReportVersion:
        body = content(**overrides)
        if origin is not None:
            return record_received_version(
                report_id=uuid.uuid4(),
                origin=origin,
                version_number=1,
                content=body,
                status=status,
            )
        if author["user"] is None:
            author["user"] = make_web_user(Role.RELEASER, "SECRET")
        return create_report(author=author["user"], content=body, status=status)

    return make


def add_partner(
    code: str,
    *,
    ceiling: str = "SECRET",
    categories: tuple[str, ...] = (),
    tlp_allowed: tuple[str, ...] = (),
    relay_origins: tuple[str, ...] = (),
    suspended: bool = False,
) -> Partner:
    """A partner registered through the real service, without fetching a manifest."""
    partner = introduce_partner(
        code=code,
        base_url=f"http://{code}.partner.invalid",
        root_fingerprint=(code.encode().hex() * 64)[:64],
        ceiling=Classification[ceiling],
        categories=categories,
        tlp_allowed=tlp_allowed,
        relay_origins=relay_origins,
        fetch=False,
    )
    if suspended:
        set_status(partner, "suspended")
        partner.refresh_from_db()
    return partner


def html(response: Any) -> str:
    return response.content.decode()
