"""platform/ is a source root: the stdlib `platform` module must win in every process."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def test_platform_folder_is_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert not list((ROOT / "platform").glob("*.py")), "only app packages belong in platform/"


def test_import_platform_is_stdlib_under_pytest() -> None:
    import platform

    assert Path(platform.__file__).resolve().is_relative_to(STDLIB)
    assert platform.system()


def test_import_platform_is_stdlib_under_manage_py() -> None:
    code = "import platform, json; print(json.dumps([platform.__file__, platform.system()]))"
    out = (
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    path, system = json.loads(out)
    assert Path(path).resolve().is_relative_to(STDLIB)
    assert system == "Linux"
