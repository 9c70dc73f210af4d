"""The product card: riskscore needs numpy and nothing compiled besides it, and no Django."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("django", "rest_framework", "scipy", "sklearn", "pandas", "rapidfuzz", "numba")


def test_importing_every_riskscore_module_pulls_in_no_forbidden_package() -> None:
    code = (
        "import json, sys\n"
        "import riskscore.engine, riskscore.matching, riskscore.screening_formats\n"
        "import riskscore.grouping, riskscore.features, riskscore.synthetic\n"
        "import riskscore.metrics, riskscore.offline, riskscore.domain\n"
        "riskscore.domain.available()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT / "platform")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    assert "numpy" in loaded
    assert not loaded & set(FORBIDDEN)


def test_no_riskscore_source_mentions_django() -> None:
    for path in (ROOT / "platform" / "riskscore").glob("*.py"):
        assert "import django" not in path.read_text(encoding="utf-8")
        assert "from django" not in path.read_text(encoding="utf-8")
