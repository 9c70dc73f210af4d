#!/usr/bin/env python
"""Run a local federation: one web server and one Celery worker per node, each node with its own
database, its own Redis database and its own keys, already introduced to each other, on the
embedded services unless DATABASE_URL and REDIS_URL point elsewhere.

    python infra/localnet.py run [--nodes us,uk,eu,jp] [--base-port 8001] [--no-demo]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from config.embedded import default_services_dir, stop_services  # noqa: E402
from federation.devnet import LocalFederation  # noqa: E402


def demo_password() -> str:
    path = ROOT / "var" / "demo-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()
    codes = [c.strip() for c in args.nodes.split(",") if c.strip()]
    net = LocalFederation(codes, base_port=args.base_port)
    password = demo_password()
    print(f"Preparing nodes {', '.join(codes)} (databases, keys, partners)...", flush=True)
    net.prepare()
    try:
        net.start()
        net.connect()
        if not args.no_demo:
            print("Seeding demo reports; partners receive them as they are released...", flush=True)
            net.manage_all("seed_demo", "--password", password)
        print(f"\nLocal federation up in {time.monotonic() - started:.1f} s:", flush=True)
        for code, node in net.nodes.items():
            print(f"  {code}: {node.url}/   admin {node.url}/admin/   API {node.url}/api/docs/")
        print(
            f"Sign in as {codes[0]}.releaser (or .analyst, .admin, .admin2, .auditor; the same on "
            f"every node), password {password}. The first sign-in enrols an authenticator app "
            "by QR code (TOTP)."
        )
        print("Logs in var/logs/. Ctrl-C stops the federation.", flush=True)
        while net.alive():
            time.sleep(1)
        sys.exit("a node process stopped; see var/logs/")
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
    finally:
        net.stop()
        if not args.keep_services and not (
            os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")
        ):
            # The embedded servers outlive node processes by design; the user stopping the
            # federation expects nothing of it left running.
            stop_services(default_services_dir(ROOT))
            print("embedded PostgreSQL and Redis stopped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("--nodes", default="us,uk,eu,jp")
    run_parser.add_argument("--base-port", type=int, default=8001)
    run_parser.add_argument("--no-demo", action="store_true")
    run_parser.add_argument(
        "--keep-services",
        action="store_true",
        help="leave the embedded PostgreSQL and Redis running on exit",
    )
    args = parser.parse_args()
    if args.command == "run":
        run(args)


if __name__ == "__main__":
    main()
