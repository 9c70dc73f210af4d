"""Bad configuration fails at start with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ConfigurationError, check_redis_url, database_from_url, env_bool, env_int

ROOT = Path(__file__).resolve().parents[2]


def test_database_url_is_parsed() -> None:
    db = database_from_url("DATABASE_URL", "postgres://app:pw@db.internal:5433/node_uk")
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "node_uk",
        "app",
        "pw",
        "db.internal",
        "5433",
    )
    socket_db = database_from_url("DATABASE_URL", "postgresql://postgres@/node_us?host=/run/pg")
    assert socket_db["HOST"] == "/run/pg"


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "postgres://host:5432/", "postgres://host:notaport/db"]
)
def test_bad_database_urls_name_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        database_from_url("DATABASE_URL", url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379/0", "redis:///0", "redis://h:port/0"])
def test_bad_redis_urls_name_the_variable(url: str) -> None:
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        check_redis_url("REDIS_URL", url)


def test_typed_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ConfigurationError, match="X_FLAG"):
        env_bool("X_FLAG", False)
    monkeypatch.setenv("X_NUM", "3")
    with pytest.raises(ConfigurationError, match="X_NUM must be at least 5"):
        env_int("X_NUM", 10, minimum=5)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATABASE_URL", "mysql://db/x"), ("REDIS_URL", "amqp://broker"), ("NODE_CODE", "U.S.")],
)
def test_a_node_refuses_to_start_with_a_bad_value(variable: str, value: str) -> None:
    env = {**os.environ, variable: value}
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    env[variable] = value
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert variable in result.stderr
