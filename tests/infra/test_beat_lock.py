"""Exactly one beat per node: a second `run_beat` waits as a standby and takes over when the
first one dies, so periodic tasks never run twice and never stop for long."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.support.processes import running, wait_for_text

pytestmark = pytest.mark.e2e


def _beat(tmp_path: Path, name: str) -> str:
    return f"{sys.executable} manage.py run_beat --schedule {tmp_path / name} --retry-every 0.5"


def test_a_second_beat_waits_and_takes_over_when_the_first_dies(tmp_path: Path) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with running(_beat(tmp_path, "one"), {}, first_log) as first:
        wait_for_text(first_log, "beat lock taken")
        wait_for_text(first_log, "beat: Starting")
        with running(_beat(tmp_path, "two"), {}, second_log) as second:
            wait_for_text(second_log, "waiting as a standby")
            assert "beat lock taken" not in second_log.read_text()
            os.killpg(first.pid, signal.SIGKILL)  # a host that dies, not one that shuts down
            first.wait(timeout=10)
            wait_for_text(second_log, "beat lock taken", timeout=30)
            wait_for_text(second_log, "beat: Starting", timeout=30)
            assert second.poll() is None
