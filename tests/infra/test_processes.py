"""The process commands a deployment runs (infra/Procfile) start against the real services,
and each process imports the standard-library `platform`, not our source root."""

from __future__ import annotations

import json
import platform
import sysconfig
from pathlib import Path

import pytest

from tests.support.processes import (
    free_port,
    procfile_commands,
    running,
    wait_for_http,
    wait_for_text,
)

STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
pytestmark = pytest.mark.e2e


def test_procfile_names_web_worker_and_beat() -> None:
    assert set(procfile_commands()) == {"web", "worker", "scoring", "beat"}


def test_web_serves_under_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    env = {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    with running(procfile_commands()["web"], env, log):
        body = json.loads(wait_for_http(f"http://127.0.0.1:{port}/healthz"))
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    # python_version() only exists on the stdlib module: a shadowing folder would 500 here.
    assert body["python"] == platform.python_version()


def test_worker_runs_tasks_from_the_real_broker(tmp_path: Path) -> None:
    from core.tasks import runtime_probe

    log = tmp_path / "worker.log"
    with running(procfile_commands()["worker"], {"WORKER_CONCURRENCY": "1"}, log):
        wait_for_text(log, "ready.")
        answer = runtime_probe.delay().get(timeout=60)
    assert Path(answer["platform_module"]).resolve().is_relative_to(STDLIB)
    assert answer["python"] == platform.python_version()


def test_beat_starts_and_keeps_its_schedule(tmp_path: Path) -> None:
    log = tmp_path / "beat.log"
    schedule = tmp_path / "beat-schedule"
    with running(procfile_commands()["beat"], {"BEAT_SCHEDULE_FILE": str(schedule)}, log) as proc:
        wait_for_text(log, "beat: Starting")
        assert proc.poll() is None
    assert list(tmp_path.glob("beat-schedule*")), "beat wrote no schedule file"
