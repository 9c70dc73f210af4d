"""A local federation of real node processes: each node a gunicorn web server and a Celery
worker (with beat), its own database, Redis database and keys, introduced to the others.

Used by the README's main command (infra/localnet.py) and by the end-to-end tests. No Django
import here: this module only starts and stops processes and runs `manage.py` commands.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
NODE_ORDER = ["us", "uk", "ca", "au", "nz", "eu", "jp"]


@dataclass
class NodeProcesses:
    code: str
    port: int
    env: dict[str, str]
    log_dir: Path
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    scoring: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _node_env(
    code: str,
    url: str,
    base: dict[str, str],
    db_prefix: str,
    redis_offset: int,
    data_root: Path,
) -> dict[str, str]:
    env = {
        **base,
        "NODE_CODE": code,
        "NODE_PUBLIC_URL": url,
        "NODE_DATA_DIR": str(data_root / code),
        "PYTHONUNBUFFERED": "1",
    }
    redis_db = redis_offset + NODE_ORDER.index(code)
    if base.get("DATABASE_URL"):
        parts = urlsplit(base["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{db_prefix}{code}"))
    else:
        env["NODE_DB_NAME"] = f"{db_prefix}{code}"
    if base.get("REDIS_URL"):
        parts = urlsplit(base["REDIS_URL"])
        env["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{redis_db}"))
    else:
        env["NODE_REDIS_DB"] = str(redis_db)
    return env


@dataclass
class LocalFederation:
    codes: list[str]
    base_port: int = 8001
    db_prefix: str = "localnet_"
    redis_offset: int = 1
    data_root: Path = ROOT / "var" / "nodes"
    log_dir: Path = ROOT / "var" / "logs"
    ceremony_dir: Path | None = None
    """Demo root keys (encrypted) and their passphrase; default: beside data_root."""
    extra_env: dict[str, str] = field(default_factory=dict)
    web_workers: int = 2
    worker_concurrency: int = 2
    # manifests: key-manifest pushes (revocations), never behind the delivery backlog.
    worker_queues: str = "manifests,default,federation"
    # Case scoring has its own worker process and queue, so a burst of received reports
    # never waits behind deliveries (or the other way round).
    scoring_worker: bool = True
    scoring_concurrency: int = 1
    hosts: dict[str, str] = field(default_factory=dict)
    """Each node's address (default 127.0.0.1); the fault suite gives each its own host."""
    wrap: Callable[[str, list[str]], list[str]] | None = None
    """Rewrites every command run for a node (the fault suite runs them in its namespace)."""
    nodes: dict[str, NodeProcesses] = field(init=False)

    def __post_init__(self) -> None:
        base = {
            k: v
            for k, v in os.environ.items()
            if k
            not in {
                "NODE_CODE",
                "NODE_PUBLIC_URL",
                "NODE_DATA_DIR",
                "NODE_DB_NAME",
                "NODE_REDIS_DB",
            }
        }
        base.update(self.extra_env)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.nodes = {}
        for i, code in enumerate(self.codes):
            node = NodeProcesses(
                code, self.base_port + i, {}, self.log_dir, host=self.hosts.get(code, "127.0.0.1")
            )
            node.env = _node_env(
                code, node.url, base, self.db_prefix, self.redis_offset, self.data_root
            )
            self.nodes[code] = node

    def command(self, code: str, command: list[str]) -> list[str]:
        return self.wrap(code, command) if self.wrap else command

    # --- manage.py -------------------------------------------------------------------------

    def manage(self, code: str, *args: str, timeout: float = 300) -> str:
        """Run `manage.py` in a node's environment; its standard output."""
        result = subprocess.run(
            self.command(code, [sys.executable, "manage.py", *args]),
            cwd=ROOT,
            env=self.nodes[code].env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{code}: manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}"
            )
        return result.stdout

    def manage_all(self, *args: str, codes: Iterable[str] | None = None) -> dict[str, str]:
        targets = list(codes or self.codes)
        with ThreadPoolExecutor(max_workers=len(targets)) as pool:
            outputs = pool.map(lambda code: self.manage(code, *args), targets)
            return dict(zip(targets, outputs, strict=True))

    # --- set-up --------------------------------------------------------------------------------

    def prepare(self, *, fresh: bool = False) -> None:
        """Databases, migrations and keys on every node, then every node introduced to all.
        `fresh` drops the (e2e_*) databases first."""
        self.manage_all("ensure_database", *(["--recreate"] if fresh else []))
        self.root_credentials(self.codes[0])  # the shared passphrase, made before the threads
        with ThreadPoolExecutor(max_workers=len(self.codes)) as pool:
            outputs = pool.map(
                lambda code: self.manage(
                    code, "local_federation", "prepare", *self.root_credentials(code)
                ),
                self.codes,
            )
            prints = dict(zip(self.codes, outputs, strict=True))
        fingerprints = {code: out.strip().splitlines()[-1] for code, out in prints.items()}
        peers = json.dumps({c: [n.url, fingerprints[c]] for c, n in self.nodes.items()})
        self.manage_all("local_federation", "introduce", "--peers", peers)

    def root_credentials(self, code: str) -> list[str]:
        """`--root-key F --passphrase-file P` for a demo node's root. The passphrase is
        generated once (mode 0600 from the start) and kept beside the keys, never in git."""
        folder = self.ceremony_dir or self.data_root.parent / "ceremony"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        passphrase = folder / "passphrase"
        if not passphrase.exists():
            fd = os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        root = folder / f"{code}-root.pem"
        return ["--root-key", str(root), "--passphrase-file", str(passphrase)]

    def ceremony(self, code: str) -> str:
        """Run the key ceremony on a node with its demo root (after a rotation or revocation)."""
        return self.manage(code, "key_ceremony", "run", *self.root_credentials(code))

    def connect(self) -> None:
        """Every node fetches and verifies its partners' key manifests (webs must be up)."""
        self.manage_all("local_federation", "connect")

    # --- processes -----------------------------------------------------------------------------

    def _spawn(self, node: NodeProcesses, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = open(node.log_dir / f"{node.code}-{name}.log", "ab")  # noqa: SIM115
        try:
            return subprocess.Popen(
                self.command(node.code, command),
                cwd=ROOT,
                env=node.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    def start_web(self, code: str) -> None:
        node = self.nodes[code]
        node.web = self._spawn(
            node,
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--pythonpath",
                "platform,.",
                "config.wsgi",
                "--bind",
                f"{node.host}:{node.port}",
                "--workers",
                str(self.web_workers),
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],
        )

    def start_worker(self, code: str) -> None:
        node = self.nodes[code]
        schedule = Path(node.env["NODE_DATA_DIR"]) / "beat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        node.worker = self._spawn(
            node,
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--beat",
                "--schedule",
                str(schedule),
                "--concurrency",
                str(self.worker_concurrency),
                "--queues",
                self.worker_queues,
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
                "--hostname",
                f"worker-{code}@%h",
            ],
        )

    def start_scoring(self, code: str) -> None:
        node = self.nodes[code]
        node.scoring = self._spawn(
            node,
            "scoring",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--concurrency",
                str(self.scoring_concurrency),
                "--queues",
                "scoring",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
                "--hostname",
                f"scoring-{code}@%h",
            ],
        )

    def start(self) -> None:
        for code in self.codes:
            self.start_web(code)
            self.start_worker(code)
            if self.scoring_worker:
                self.start_scoring(code)
        for code in self.codes:
            self.wait_until_up(code)

    def wait_until_up(self, code: str, timeout: float = 90.0) -> None:
        node = self.nodes[code]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.web is not None and node.web.poll() is not None:
                raise RuntimeError(f"{code}: web server exited; see {node.log_dir}")
            try:
                with urllib.request.urlopen(f"{node.url}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{code}: web server did not answer on {node.url}")

    @staticmethod
    def _signal(process: subprocess.Popen[bytes] | None, sig: int, wait: float) -> None:
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_web(self, code: str) -> None:
        self._signal(self.nodes[code].web, signal.SIGTERM, 15)

    def kill_worker(self, code: str) -> None:
        """SIGKILL the whole worker (main process and pool children) with no warning."""
        self._signal(self.nodes[code].worker, signal.SIGKILL, 10)

    def stop_worker(self, code: str) -> None:
        self._signal(self.nodes[code].worker, signal.SIGTERM, 20)

    def stop_scoring(self, code: str) -> None:
        self._signal(self.nodes[code].scoring, signal.SIGTERM, 20)

    def stop(self) -> None:
        for code in self.codes:
            self.stop_scoring(code)
            self.stop_worker(code)
            self.stop_web(code)

    def alive(self) -> bool:
        return all(
            p is not None and p.poll() is None
            for node in self.nodes.values()
            for p in (node.web, node.worker, *([node.scoring] if self.scoring_worker else []))
        )
