#!/usr/bin/env python
"""Run a local federation: one web server and one Celery worker per node, each node with its own
database, its own Redis database and its own keys, on the embedded services unless DATABASE_URL
and REDIS_URL point elsewhere.

    python infra/localnet.py run [--nodes us,uk,eu,jp] [--base-port 8001] [--no-demo]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DEFAULT_NODES = "us,uk,eu,jp"
NODE_ORDER = ["us", "uk", "ca", "au", "nz", "eu", "jp"]


@dataclass
class Node:
    code: str
    port: int
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def node_env(code: str, port: int, base: dict[str, str]) -> dict[str, str]:
    env = {
        **base,
        "NODE_CODE": code,
        "NODE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    if base.get("DATABASE_URL"):
        parts = urlsplit(base["DATABASE_URL"])
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/localnet_{code}"))
    if base.get("REDIS_URL"):
        parts = urlsplit(base["REDIS_URL"])
        env["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{NODE_ORDER.index(code) + 1}"))
    return env


def manage(node: Node, *args: str) -> None:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=node.env)
    if result.returncode != 0:
        sys.exit(f"{node.code}: manage.py {' '.join(args)} failed")


def wait_until_up(node: Node, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{node.url}/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{node.code}: web server did not answer on {node.url}")


def demo_password() -> str:
    path = ROOT / "var" / "demo-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def start_processes(node: Node) -> list[subprocess.Popen[bytes]]:
    log_dir = ROOT / "var" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    commands = {
        "web": [
            PY,
            "-m",
            "gunicorn",
            "--pythonpath",
            "platform,.",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{node.port}",
            "--workers",
            "2",
            "--timeout",
            "60",
        ],
        "worker": [
            PY,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--concurrency",
            "2",
            "--queues",
            "default,federation,scoring",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
            "--schedule",
            str(ROOT / "var" / "nodes" / node.code / "beat-schedule"),
        ],
    }
    processes = []
    for name, command in commands.items():
        log = open(log_dir / f"{node.code}-{name}.log", "ab")  # noqa: SIM115
        processes.append(
            subprocess.Popen(command, cwd=ROOT, env=node.env, stdout=log, stderr=subprocess.STDOUT)
        )
    return processes


def run(args: argparse.Namespace) -> None:
    codes = [c.strip() for c in args.nodes.split(",") if c.strip()]
    base_env = {k: v for k, v in os.environ.items() if k not in {"NODE_CODE", "NODE_PUBLIC_URL"}}
    nodes = [
        Node(code, args.base_port + i, node_env(code, args.base_port + i, base_env))
        for i, code in enumerate(codes)
    ]
    started = time.monotonic()
    password = demo_password()
    for node in nodes:
        manage(node, "ensure_database")
        manage(node, "migrate", "--no-input", "-v", "0")
    processes: list[subprocess.Popen[bytes]] = []
    for node in nodes:
        processes += start_processes(node)
    try:
        for node in nodes:
            wait_until_up(node)
        if not args.no_demo:
            for node in nodes:
                manage(node, "seed_demo", "--password", password)
        print(f"\nLocal federation up in {time.monotonic() - started:.1f} s:", flush=True)
        for node in nodes:
            print(
                f"  {node.code}: {node.url}/  (admin {node.url}/admin/, API {node.url}/api/docs/)"
            )
        print(f"Sign in as <node>.releaser, e.g. {nodes[0].code}.releaser, password {password}")
        print("Logs in var/logs/. Ctrl-C stops the nodes.", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        sys.exit("a node process stopped; see var/logs/")
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--nodes", default=DEFAULT_NODES)
    run_parser.add_argument("--base-port", type=int, default=8001)
    run_parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    if args.command == "run":
        run(args)


if __name__ == "__main__":
    main()
