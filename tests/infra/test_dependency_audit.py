"""The dependency audit gate (infra/audit.py) really runs pip-audit over the locks against the OSV
service it is given: a fake OSV service, in this process, answers pip-audit's queries."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ("production", "run", "dev")
VULN_ID = "PYSEC-0000-TEST"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", re.M)


def locked() -> set[tuple[str, str]]:
    """Every (package, version) the locks pin for this interpreter (pip-audit evaluates each
    line's environment marker, as pip would)."""
    pins: set[tuple[str, str]] = set()
    for name in LOCKS:
        for package, version, marker in PIN.findall(
            (ROOT / f"requirements/{name}.lock").read_text()
        ):
            if not marker or Marker(marker).evaluate():
                pins.add((canonicalize_name(package), version))
    return pins


def vulnerability(package: str, version: str) -> dict[str, object]:
    return {
        "id": VULN_ID,
        "summary": "invented for the audit gate's test",
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "999"}]}
                ],
                "versions": [version],
            }
        ],
    }


class FakeOsv(ThreadingHTTPServer):
    """OSV's `POST /v1/query` ({"package": {"name", "ecosystem"}, "version"} -> {"vulns": [...]}
    or {}), recording every query."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), OsvHandler)
        self.queries: list[tuple[str, str]] = []
        self.vulnerable: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/query"


class OsvHandler(BaseHTTPRequestHandler):
    server: FakeOsv

    def do_POST(self) -> None:
        if self.path != "/v1/query":
            self.send_error(404)
            return
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        asked = (query["package"]["name"], query["version"])
        assert query["package"]["ecosystem"] == "PyPI"
        with self.server.lock:
            self.server.queries.append(asked)
        answer = {"vulns": [vulnerability(*asked)]} if asked in self.server.vulnerable else {}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def osv() -> Iterator[FakeOsv]:
    server = FakeOsv()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def audit(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "AUDIT_OSV_URL": url, "NO_PROXY": "127.0.0.1"}
    environ.pop("AUDIT_REQUIRED", None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, str(ROOT / "infra" / "audit.py")],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
    )


def django_pin() -> tuple[str, str]:
    return next(pin for pin in locked() if pin[0] == "django")


def test_a_known_vulnerability_in_a_locked_package_fails_the_gate(osv: FakeOsv) -> None:
    osv.vulnerable = {django_pin()}
    result = audit(osv.url)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert VULN_ID in result.stdout
    assert re.search(rf"^django\s+{re.escape(django_pin()[1])}\s+{VULN_ID}", result.stdout, re.M)
    assert "Found 1 known vulnerability in 1 package" in result.stderr
    # pip-audit asked about every locked package, at its locked version, exactly once.
    assert sorted(osv.queries) == sorted(locked())


def test_no_known_vulnerability_passes(osv: FakeOsv) -> None:
    result = audit(osv.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No known vulnerabilities found" in result.stderr
    assert sorted(osv.queries) == sorted(locked())
    assert len(osv.queries) > 100  # the dev lock's whole tree, not one package


def test_an_unreachable_service_skips_the_audit_unless_it_is_required() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1/query"  # nothing listens there
    line = f"dependency audit not run: {url} unreachable from this machine"
    skipped = audit(url)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert line in skipped.stdout
    required = audit(url, AUDIT_REQUIRED="1")
    assert required.returncode != 0
    assert line in required.stdout
