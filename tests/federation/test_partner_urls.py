"""Partner URLs: https only in production; onboarding and manifest fetches never reach
loopback, private, link-local or metadata addresses unless allow-listed, and never say what
answered there."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.test import override_settings

from federation.services.partners import UnsafePartnerURL, check_partner_url
from web.services import NO_MANIFEST, check_partner_manifest

FP = "ab" * 32


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost",
        "http://10.1.2.3",
        "http://192.168.0.10:8080",
        "http://172.16.5.5",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8000",
        "http://[::ffff:127.0.0.1]",
        "http://[fe80::1]",
        "http://0.0.0.0:8000",
        "http://100.64.0.1",
    ],
)
@override_settings(FEDERATION_ALLOWED_NETWORKS=[])
def test_internal_targets_are_refused(url: str) -> None:
    with pytest.raises(UnsafePartnerURL):
        check_partner_url(url)


@override_settings(FEDERATION_ALLOWED_NETWORKS=["10.20.0.0/16"])
def test_an_allow_listed_network_is_reachable() -> None:
    assert check_partner_url("http://10.20.3.4:8443") == "http://10.20.3.4:8443"
    with pytest.raises(UnsafePartnerURL):
        check_partner_url("http://10.21.3.4:8443")


@pytest.mark.parametrize(
    "url", ["ftp://example.org", "https://user:pw@example.org", "https://example.org/?a=1"]
)
def test_malformed_partner_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafePartnerURL):
        check_partner_url(url, resolve=False)


@override_settings(FEDERATION_REQUIRE_HTTPS=True)
def test_production_accepts_https_partner_urls_only() -> None:
    with pytest.raises(UnsafePartnerURL, match="https://"):
        check_partner_url("http://exchange.uk.example", resolve=False)
    assert check_partner_url("https://exchange.uk.example", resolve=False)


class _Canary(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"internal-secret-banner")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def canary() -> Iterator[tuple[int, type[_Canary]]]:
    _Canary.hits = 0
    server = HTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _Canary
    finally:
        server.shutdown()


def test_onboarding_never_connects_to_a_loopback_canary(canary: Any) -> None:
    port, handler = canary
    with override_settings(FEDERATION_ALLOWED_NETWORKS=[]):
        result = check_partner_manifest(
            code="uk", base_url=f"http://127.0.0.1:{port}", fingerprint=FP
        )
    assert handler.hits == 0
    assert not result.verified
    assert "FEDERATION_ALLOWED_NETWORKS" in result.error


def test_onboarding_does_not_echo_what_answered(canary: Any) -> None:
    port, handler = canary  # allow-listed here (development default), so it is fetched
    result = check_partner_manifest(code="uk", base_url=f"http://127.0.0.1:{port}", fingerprint=FP)
    assert handler.hits == 1
    assert result.error == NO_MANIFEST
    assert "500" not in result.error
    assert "internal-secret-banner" not in result.error


def test_a_closed_port_and_a_server_error_look_the_same(canary: Any) -> None:
    port, _ = canary
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    free = closed.getsockname()[1]
    closed.close()
    a = check_partner_manifest(code="uk", base_url=f"http://127.0.0.1:{port}", fingerprint=FP)
    b = check_partner_manifest(code="uk", base_url=f"http://127.0.0.1:{free}", fingerprint=FP)
    assert a.error == b.error == NO_MANIFEST


def test_a_partner_server_error_body_never_reaches_the_health_page(db: Any, canary: Any) -> None:
    from federation.client import PartnerUnreachable, signed_request
    from federation.models import Partner

    port, handler = canary
    partner = Partner.objects.create(
        code="uk", name="UK", base_url=f"http://127.0.0.1:{port}", root_fingerprints=[FP]
    )
    with pytest.raises(PartnerUnreachable) as failure:
        signed_request(partner, "GET", "/fed/v1/log?after=0")
    assert handler.hits == 1
    assert str(failure.value) == "HTTP 500"
