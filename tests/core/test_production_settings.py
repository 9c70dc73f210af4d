"""NODE_ENV=production fails loudly: no embedded servers, every missing setting named, and
Django's deployment checks pass with the shipped example without a single warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "infra" / "production.env.example"


def example_env(tmp_path: Path) -> dict[str, str]:
    """The example as an operator fills it in: the placeholders' files made real."""
    env: dict[str, str] = {}
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    secret = tmp_path / "secret_key"
    secret.write_text("k3Y-" + "x7Qp9-Zr2Lm8Vt4" * 4)
    env["DJANGO_SECRET_KEY_FILE"] = str(secret)
    env["NODE_DATA_DIR"] = str(tmp_path / "data")
    env["AUDIT_MAC_KEY_FILE"] = str(tmp_path / "audit_mac_key")
    keep = {"PATH", "HOME", "LANG", "VIRTUAL_ENV"}
    return {**{k: v for k, v in os.environ.items() if k in keep}, **env}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_the_production_example_prints_no_warning(tmp_path: Path) -> None:
    result = manage(example_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "missing",
    ["REDIS_URL", "DATABASE_URL", "NODE_PUBLIC_URL", "DJANGO_ALLOWED_HOSTS", "NODE_DATA_DIR"],
)
def test_a_missing_setting_stops_a_production_node_naming_it(tmp_path: Path, missing: str) -> None:
    env = example_env(tmp_path)
    del env[missing]
    services = ROOT / "var" / "services"
    before = sorted(p.name for p in services.iterdir()) if services.exists() else []
    result = manage(env, "check")
    assert result.returncode != 0
    assert f"{missing} " in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]
    # DATABASE_URL set and REDIS_URL forgotten must not start an embedded server.
    after = sorted(p.name for p in services.iterdir()) if services.exists() else []
    assert after == before


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("NODE_PUBLIC_URL", "http://exchange.uk.example", "NODE_PUBLIC_URL"),
        ("DJANGO_DEBUG", "true", "DJANGO_DEBUG"),
        ("DJANGO_SECRET_KEY_FILE", "", "DJANGO_SECRET_KEY"),
        ("NODE_ENV", "prod", "NODE_ENV"),
    ],
)
def test_unsafe_production_values_are_refused(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    env = example_env(tmp_path)
    env[variable] = value
    result = manage(env, "check")
    assert result.returncode != 0
    assert named in result.stderr


def test_production_sets_hsts_ssl_redirect_and_the_proxy_header(tmp_path: Path) -> None:
    script = (
        "from django.conf import settings as s;"
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SECURE_PROXY_SSL_HEADER,"
        " s.SESSION_COOKIE_SECURE, s.FEDERATION_REQUIRE_HTTPS, s.FEDERATION_ALLOWED_NETWORKS)"
    )
    result = manage(example_env(tmp_path), "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "31536000 True ('HTTP_X_FORWARDED_PROTO', 'https') True True []"
    )
