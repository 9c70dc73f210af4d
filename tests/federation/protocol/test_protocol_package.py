"""Package-level guarantees: no Django, one error type, the benchmark helper works."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import federation.protocol
from federation.protocol.bench_support import crypto_roundtrip_rate, make_envelopes
from federation.protocol.canonical import canonical_bytes
from federation.protocol.envelope import sign_origin
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import generate

PACKAGE_DIR = Path(federation.protocol.__file__).parent
MODULES = sorted(p.stem for p in PACKAGE_DIR.glob("*.py") if p.stem != "__init__")


def test_no_module_imports_django() -> None:
    # A fresh interpreter: under pytest-django, Django is already loaded in this process.
    code = (
        "import importlib, sys\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module('federation.protocol.' + name)\n"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))\n"
    )
    repo_root = PACKAGE_DIR.parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root, check=True
    )
    assert out.stdout.strip() == "[]"
    assert {"canonical", "envelope", "errors", "httpsig", "keys", "manifest"} <= set(MODULES)


def test_protocol_error_carries_code_and_reason_and_pickles() -> None:
    error = ProtocolError("replay", "nonce already used")
    assert (error.code, error.reason) == ("replay", "nonce already used")
    assert str(error) == "replay: nonce already used"
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes, just made)
    assert (copy.code, copy.reason) == ("replay", "nonce already used")


def test_benchmark_envelopes_are_realistic_and_about_two_kib() -> None:
    envelopes = make_envelopes(20)
    key = generate("uk", "report")
    sizes = [len(canonical_bytes(sign_origin(env, key))) for env in envelopes]
    assert all(1700 <= size <= 2400 for size in sizes), sizes
    assert len({env["id"] for env in envelopes}) == 20
    assert make_envelopes(3) == make_envelopes(3)  # deterministic


def test_crypto_roundtrip_rate_measures_a_positive_rate() -> None:
    rate = crypto_roundtrip_rate(make_envelopes(30))
    assert rate > 0
    with pytest.raises(ValueError, match="at least one"):
        crypto_roundtrip_rate([])
