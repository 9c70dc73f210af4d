#!/usr/bin/env python3
"""The two set-up commands of the README, for a fresh machine that has only Python 3.11.

    python3 infra/bootstrap.py run    install everything, start a local federation with demo data
    python3 infra/bootstrap.py test   install everything, run every quality gate and the tests

Standard library only: this file runs before anything is installed. It makes `.venv`, installs
the project into it (again only when pyproject.toml changed), then hands over to the venv.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed-from"


def log(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def run(args: list[str], **kwargs: object) -> None:
    result = subprocess.run(args, cwd=ROOT, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on whatever python3 is
        sys.exit("Python 3.11 or newer is needed")
    if not PYTHON.exists():
        log(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    log("installing the project and its dependencies (first run only)")
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f".{extras}"])
    STAMP.write_text(wanted)


def ensure_chromium() -> None:
    """Browser tests drive Debian's Chromium; Playwright must never download its own browser."""
    if shutil.which("chromium"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log("chromium is not installed and cannot be installed here: browser tests will fail")
        return
    log("installing Debian's chromium for the browser tests")
    run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
    run(
        ["apt-get", "install", "-y", "-qq", "chromium"],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    rest = sys.argv[2:]
    if command == "run":
        ensure_venv("")
        os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "infra" / "localnet.py"), "run", *rest])
    elif command == "test":
        ensure_venv("[dev]")
        ensure_chromium()
        os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "infra" / "checks.py"), *rest])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
