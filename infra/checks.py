#!/usr/bin/env python
"""Every quality gate, in order, stopping at the first failure: lint, format, types, Django's
own checks, migrations in step with the models, the dependency audit (infra/audit.py), then the
whole pytest suite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Tests are type-checked too: pyproject's mypy `exclude` only applies to directories mypy
# walks, so the test files are named one by one.
TEST_FILES = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests").rglob("*.py"))
# Of infra/, only the dependency audit's module is type-checked.
TYPED = ["platform", "federation", "manage.py", "infra/audit.py", *TEST_FILES]

GATES: list[tuple[str, list[str]]] = [
    ("ruff lint", [str(BIN / "ruff"), "check", "."]),
    ("ruff format", [str(BIN / "ruff"), "format", "--check", "."]),
    ("mypy", [str(BIN / "mypy"), *TYPED]),
    ("database", [sys.executable, "manage.py", "ensure_database"]),
    ("django check", [sys.executable, "manage.py", "check", "--fail-level", "WARNING"]),
    ("migrations", [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"]),
    ("dependency audit", [sys.executable, str(ROOT / "infra" / "audit.py")]),
]


def main() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    for name, command in GATES:
        print(f"== {name}", flush=True)
        if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
            sys.exit(f"quality gate failed: {name}")
    print("== pytest", flush=True)
    code = subprocess.run(
        [sys.executable, "-m", "pytest", *sys.argv[1:]], cwd=ROOT, env=env
    ).returncode
    print(f"== all gates took {time.monotonic() - started:.0f} s", flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
