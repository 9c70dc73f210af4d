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


def checked_lock(name: str) -> Path:
    """requirements/<name>.lock, refused when it was not made from this pyproject.toml."""
    lock = ROOT / "requirements" / f"{name}.lock"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    first = lock.read_text().splitlines()[0] if lock.exists() else ""
    if first != f"# pyproject.toml sha256: {digest}":
        sys.exit(
            f"{lock.relative_to(ROOT)} is missing or was not made from this pyproject.toml: "
            "run .venv/bin/python infra/lock.py (uv) and commit the locks"
        )
    return lock


def ensure_venv(lock_name: str) -> None:
    """Install exactly the hash-pinned lock (nothing unlocked, nothing unhashed), then the
    project itself without dependencies."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on whatever python3 is
        sys.exit("Python 3.11 or newer is needed")
    lock = checked_lock(lock_name)
    if not PYTHON.exists():
        log(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    log(f"installing the project and its locked dependencies ({lock.name}, first run only)")
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet"]
    run([*pip, "--require-hashes", "--no-deps", "-r", str(lock)])
    run([*pip, "--no-deps", "--no-build-isolation", "-e", "."])
    STAMP.write_text(wanted)


# Debian packages the tests drive, by the command each provides: Chromium for the browser tests
# (Playwright must never download a browser of its own), nginx for the production-topology test.
TEST_PACKAGES = {
    "/usr/bin/chromium": "chromium",
    "/usr/sbin/nginx": "nginx",
    "/usr/bin/faketime": "faketime",  # the fault suite skews one node's clock
}


def ensure_debian_packages() -> None:
    wanted = [pkg for binary, pkg in TEST_PACKAGES.items() if not Path(binary).exists()]
    if not wanted:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log(f"{', '.join(wanted)} missing and cannot be installed here: their tests will fail")
        return
    log(f"installing Debian's {', '.join(wanted)} for the tests")
    run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
    run(
        ["apt-get", "install", "-y", "-qq", *wanted],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    rest = sys.argv[2:]
    if command == "run":
        ensure_venv("run")
        os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "infra" / "localnet.py"), "run", *rest])
    elif command == "test":
        ensure_venv("dev")
        ensure_debian_packages()
        os.execv(str(PYTHON), [str(PYTHON), str(ROOT / "infra" / "checks.py"), *rest])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
