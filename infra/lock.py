#!/usr/bin/env python3
"""Regenerate the hash-pinned locks in requirements/ from pyproject.toml (with uv).

    .venv/bin/python infra/lock.py          # after any change to pyproject.toml's dependencies

Three locks, one per way of installing: `production.lock` (the node alone; psycopg runs on the
system libpq), `run.lock` (the zero-setup path: embedded servers) and `dev.lock` (the test
command: embedded servers and the quality tools). Each also pins the build backend (hatchling),
so the project itself installs with no unlocked download. Each starts with the sha256 of the
pyproject.toml it was made from; infra/bootstrap.py refuses a lock that does not match, so a
dependency change can never install unlocked."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS: dict[str, list[str]] = {"production": [], "run": ["embedded"], "dev": ["dev", "embedded"]}
BUILD_BACKEND = "hatchling>=1.25,<2\n"  # pyproject's [build-system] requires


def pyproject_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def main() -> None:
    digest = pyproject_digest()
    uv = Path(sys.executable).parent / "uv"
    with tempfile.TemporaryDirectory() as work:
        build = Path(work) / "build-backend.in"
        build.write_text(BUILD_BACKEND)
        for name, extras in LOCKS.items():
            out = ROOT / "requirements" / f"{name}.lock"
            command = [
                str(uv), "pip", "compile", "--quiet", "--generate-hashes", "--universal",
                "--python-version", "3.11", "--no-header", "--output-file", str(out),
                *(f"--extra={extra}" for extra in extras), "pyproject.toml", str(build),
            ]  # fmt: skip
            print(f"locking {name} ({', '.join(extras) or 'no extras'})", flush=True)
            subprocess.run(command, cwd=ROOT, check=True)
            body = out.read_text().replace(str(build), "build-backend")
            out.write_text(
                f"# pyproject.toml sha256: {digest}\n"
                "# made by infra/lock.py (uv pip compile --generate-hashes); do not edit\n" + body
            )


if __name__ == "__main__":
    main()
