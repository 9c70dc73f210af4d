"""The OpenAPI document describes the analyst API: schemathesis runs every check against a
real node (the live server on the real PostgreSQL) as an analyst cleared to CONFIDENTIAL, with
reports, a draft, cases and a TAXII collection to pull from, and finds nothing.

Its configuration (deterministic, a bounded number of cases per operation, the few answers that
depend on what the database holds) is schemathesis.toml; openapi_hooks.py keeps valid requests
inside the rules JSON Schema cannot state."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from rest_framework.authtoken.models import Token

from accounts.models import Role
from cases.services import regroup_all
from reports.models import Status
from reports.services import create_report
from tests.interop.conftest import content
from tests.support.medallion import medallion

__all__ = ["medallion"]  # a fixture

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")


class _NoDelayServer(ThreadedWSGIServer):
    """The test server with TCP_NODELAY: it writes a response's head and body separately, and
    Nagle's algorithm held each body back for the client's delayed ACK (~40 ms a request, most
    of this test's time)."""

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class _NoDelayServerThread(LiveServerThread):
    server_class = _NoDelayServer


@pytest.fixture
def node_url(transactional_db: Any) -> Iterator[str]:
    """A live node like pytest-django's live_server, on the no-delay server."""
    thread = _NoDelayServerThread("localhost", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://localhost:{thread.port}"
    finally:
        thread.terminate()
        thread.join()


def _seed(make_user: Callable[..., Any]) -> Any:
    """Reports at and above the analyst's clearance, one draft of the analyst's, their cases."""
    releaser = make_user(role=Role.RELEASER, clearance="SECRET")
    analyst = make_user(role=Role.ANALYST, clearance="CONFIDENTIAL")
    for category in ("chip_diversion", "military_ai", "cloud_compute", "other"):
        create_report(author=releaser, content=content(category), status=Status.PUBLISHED)
    create_report(
        author=releaser,
        content=content("chip_diversion", classification="SECRET"),
        status=Status.PUBLISHED,
    )
    create_report(author=analyst, content=content("model_weights"), status=Status.DRAFT)
    regroup_all()
    return analyst


def test_schemathesis_finds_no_mismatch(
    node_url: str,
    medallion: str,
    make_user: Callable[..., Any],
    tmp_path: Path,
) -> None:
    analyst = _seed(make_user)
    token = Token.objects.create(user=analyst).key
    started, node_cpu = time.monotonic(), time.process_time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            f"--config-file={CONFIG}",
            "run",
            f"{node_url}/api/schema/",
            "--checks=all",
            "--workers=1",
            "--no-color",
            f"--header=Authorization: Token {token}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=tmp_path,
        # This checkout first: the subprocess imports the hooks module from its tests/.
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "OPENAPI_TEST_COLLECTION": medallion,
        },
    )
    took, node_cpu = time.monotonic() - started, time.process_time() - node_cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    checker_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-3000:]
    # Every operation of the document was tested, and every case passed.
    assert re.search(r"Selected: (\d+)/\1\s+Tested: \1\b", summary), summary
    assert re.search(r"(\d+) generated, \1 passed", summary), summary
    print(summary)
    print(
        f"schemathesis run {took:.0f} s; CPU: node {node_cpu:.0f} s, "
        f"schemathesis {checker_cpu:.0f} s"
    )


@pytest.mark.django_db
def test_the_document_builds_without_warnings(tmp_path: Path) -> None:
    """drf-spectacular warns when it guesses (an unnamed enum, an unresolvable view): the
    document must not rest on guesses."""
    call_command(
        "spectacular", "--fail-on-warn", "--api-version=v1", f"--file={tmp_path / 'api.yaml'}"
    )
    assert "/api/v1/reports/" in (tmp_path / "api.yaml").read_text()
