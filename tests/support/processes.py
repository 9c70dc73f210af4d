"""Start real node processes (gunicorn, Celery) for tests, and stop them however the test ends."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def database_url(settings: Mapping[str, Any]) -> str:
    """A DATABASE_URL for a child process on the same database as Django's `settings` entry:
    a TCP host as host:port, the embedded server's socket directory as ?host= (a path cannot
    stand in the URL's host part)."""
    user, name = settings["USER"], settings["NAME"]
    host, port = str(settings["HOST"] or ""), str(settings.get("PORT") or "")
    if host.startswith("/"):
        return (
            f"postgres://{user}@:{port}/{name}?host={host}"
            if port
            else (f"postgres://{user}@/{name}?host={host}")
        )
    return f"postgres://{user}@{host or '127.0.0.1'}:{port or 5432}/{name}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def procfile_commands() -> dict[str, str]:
    commands: dict[str, str] = {}
    for line in (ROOT / "infra" / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            commands[name.strip()] = command.strip()
    return commands


@contextmanager
def running(command: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run a Procfile-style command (shell expansion of ${VAR:-default}) in its own group."""
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    full_env["PATH"] = f"{Path(sys.executable).parent}:{full_env.get('PATH', '')}"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def wait_for_http(url: str, timeout: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
                return bytes(answer.read())
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s: {last}")


def wait_for_text(log: Path, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise AssertionError(f"{text!r} not seen in {log} within {timeout} s:\n{tail}")


def quote(value: str) -> str:
    return shlex.quote(value)
