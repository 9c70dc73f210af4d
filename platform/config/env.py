"""Typed readers for environment variables that fail loudly, naming the variable at fault."""

from __future__ import annotations

import os
from urllib.parse import urlsplit


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def production() -> bool:
    """NODE_ENV=production: no embedded servers, no generated secrets, no defaults for what
    an operator must decide; every missing setting stops the node naming the variable."""
    value = os.environ.get("NODE_ENV", "development").strip().lower()
    if value not in {"development", "production"}:
        raise ConfigurationError(f"NODE_ENV must be development or production, got {value!r}")
    return value == "production"


def env_required_in_production(name: str, default: str) -> str:
    """The variable's value; its `default` only outside production."""
    if production():
        return env_str(name)
    return env_str(name, default)


def env_secret(name: str) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (systemd credentials, Docker
    secrets): the file wins, so the secret need not sit in the process environment."""
    file_name = env_optional(f"{name}_FILE")
    if file_name is not None:
        try:
            return open(file_name, encoding="utf-8").read().strip() or None
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE: cannot read {file_name}: {exc}") from None
    return env_optional(name)


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            where = " (NODE_ENV=production)" if production() else ""
            raise ConfigurationError(f"{name} is required but not set{where}")
        return default
    return value


def env_optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(name: str, url: str) -> dict[str, object]:
    """Turn postgres://user:pass@host:port/db?host=/socket/dir into Django's DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ConfigurationError(f"{name} must be a postgres:// URL, got scheme {parts.scheme!r}")
    db_name = parts.path.lstrip("/")
    if not db_name:
        raise ConfigurationError(f"{name} must name a database, e.g. postgres://host:5432/node_us")
    host = parts.hostname or ""
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        if key == "host" and value:
            host = value
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"{name} has an invalid port") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": db_name,
        "USER": parts.username or "postgres",
        "PASSWORD": parts.password or "",
        "HOST": host,
        "PORT": str(port or ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def check_redis_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise ConfigurationError(f"{name} must be a redis:// URL, got scheme {parts.scheme!r}")
    if not parts.hostname:
        raise ConfigurationError(f"{name} must name a host, e.g. redis://127.0.0.1:6379/0")
    try:
        _ = parts.port
    except ValueError:
        raise ConfigurationError(f"{name} has an invalid port") from None
    return url
