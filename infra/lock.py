#!/usr/bin/env python3
"""Regenerate the hash-pinned locks in requirements/ from pyproject.toml (pip-tools).

    .venv/bin/python infra/lock.py          # after any change to pyproject.toml's dependencies

Three locks, one per way of installing: `production.lock` (the node alone; psycopg built against
the system libpq), `run.lock` (the zero-setup path: embedded servers) and `dev.lock` (the test
command: embedded servers and the quality tools). Each starts with the sha256 of the
pyproject.toml it was made from; infra/bootstrap.py refuses a lock that does not match, so a
dependency change can never install unlocked."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"production": [], "run": ["embedded"], "dev": ["dev", "embedded"]}


def pyproject_digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def main() -> None:
    digest = pyproject_digest()
    for name, extras in LOCKS.items():
        out = ROOT / "requirements" / f"{name}.lock"
        command = [
            sys.executable, "-m", "piptools", "compile", "--quiet", "--generate-hashes",
            "--allow-unsafe", "--strip-extras", "--no-emit-index-url", "--no-emit-find-links",
            "--build-deps-for", "editable", "--newline", "LF",
            "--output-file", str(out.relative_to(ROOT)),
            *(f"--extra={extra}" for extra in extras), "pyproject.toml",
        ]  # fmt: skip
        print(f"locking {name} ({', '.join(extras) or 'no extras'})", flush=True)
        subprocess.run(command, cwd=ROOT, check=True)
        body = out.read_text()
        out.write_text(f"# pyproject.toml sha256: {digest}\n{body}")


if __name__ == "__main__":
    main()
