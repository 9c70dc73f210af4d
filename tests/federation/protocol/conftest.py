"""Shared keys, clock and builders for the protocol tests (plain Python, no database)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from federation.protocol.envelope import Markings, build_report_envelope, sign_origin
from federation.protocol.keys import NodeKey, PublicKey, generate
from tests.federation.protocol.fedproto_support import NOW, REPORT_ID, static_resolver


@pytest.fixture(scope="session")
def uk_report() -> NodeKey:
    return generate("uk", "report")


@pytest.fixture(scope="session")
def ca_report() -> NodeKey:
    return generate("ca", "report")


@pytest.fixture(scope="session")
def uk_request() -> NodeKey:
    return generate("uk", "request")


@pytest.fixture(scope="session")
def markings() -> Markings:
    return Markings.of("SECRET", ["us", "ca", "au"], False, "amber")


@pytest.fixture
def report(markings: Markings) -> dict[str, Any]:
    """An unsigned version-1 report from uk."""
    return build_report_envelope(
        iss="uk",
        iat=NOW - 60,
        markings=markings,
        payload={
            "title": "480 x H100 SXM via Singapore",
            "note": "Zoë Ólafsdóttir; 海上物流",
            "quantity": 480,
            "route": ["us", "sg", "my"],
        },
        report_id=REPORT_ID,
    )


@pytest.fixture
def signed_report(report: dict[str, Any], uk_report: NodeKey) -> dict[str, Any]:
    return sign_origin(report, uk_report)


@pytest.fixture
def resolver(uk_report: NodeKey, ca_report: NodeKey) -> Callable[[str, str, int], PublicKey]:
    return static_resolver(uk_report, ca_report)
