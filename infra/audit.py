#!/usr/bin/env python
"""The dependency audit gate: pip-audit over every hash-pinned lock, against an OSV service.

    .venv/bin/python infra/audit.py

`AUDIT_OSV_URL` is the OSV query endpoint (default pip-audit's, https://api.osv.dev/v1/query);
an agency's own OSV mirror answers the same `POST /v1/query`. A known vulnerability in any
locked package fails the gate, with pip-audit's findings. When the service cannot be reached (no
TCP connection within a few seconds) the audit is not run and the gate passes with one line
saying so, unless `AUDIT_REQUIRED=1`, which makes that a failure."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_OSV_URL = "https://api.osv.dev/v1/query"  # pip-audit's own default
LOCKS = ("production", "run", "dev")
PROBE_TIMEOUT = 3.0


def endpoint(url: str) -> tuple[str, int]:
    """Host and port of the first TCP connection pip-audit makes for `url`: the service, or the
    proxy the environment names for it."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        sys.exit(f"AUDIT_OSV_URL is not an http(s) URL: {url!r}")
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def reachable(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pip_audit_command(url: str, cache_dir: Path) -> list[str]:
    """The locks as they are, no resolution (`--disable-pip`, which already refuses any line
    without a hash: `--require-hashes` would only add a warning that OSV does not check them)."""
    locks = [arg for name in LOCKS for arg in ("-r", f"requirements/{name}.lock")]
    return [
        str(BIN / "pip-audit"), "--strict", "--disable-pip",
        "--progress-spinner", "off", "--vulnerability-service", "osv", "--osv-url", url,
        "--cache-dir", str(cache_dir), *locks,
    ]  # fmt: skip


def main() -> int:
    url = os.environ.get("AUDIT_OSV_URL") or DEFAULT_OSV_URL
    if not reachable(*endpoint(url)):
        print(
            f"dependency audit not run: {url} unreachable from this machine "
            "(AUDIT_REQUIRED=1 makes this a failure)",
            flush=True,
        )
        return 1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0
    print(f"auditing requirements/{{{','.join(LOCKS)}}}.lock against {url}", flush=True)
    # A fresh cache: every answer comes from the service, never from an earlier run.
    with tempfile.TemporaryDirectory(prefix="pip-audit-") as cache_dir:
        return subprocess.run(pip_audit_command(url, Path(cache_dir)), cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
