"""A real local federation for end-to-end tests: four node processes pairs (gunicorn + Celery
worker with beat), each with its own PostgreSQL database and Redis database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.conf import settings

from federation.devnet import NODE_ORDER, LocalFederation
from tests.support.processes import free_port

CODES = ["us", "uk", "eu", "jp"]
REDIS_OFFSET = 8


class Federation:
    """The running nodes plus the calls tests make on them (API with tokens, manage.py)."""

    def __init__(self, net: LocalFederation) -> None:
        self.net = net
        self.tokens: dict[str, str] = {}
        self.session = requests.Session()

    def url(self, code: str) -> str:
        return self.net.nodes[code].url

    def api(self, code: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Token {self.tokens[code]}"}
        return self.session.request(
            method, f"{self.url(code)}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )

    def publish(self, code: str, body: dict[str, Any]) -> str:
        answer = self.api(code, "POST", "/reports/", json={**body, "status": "published"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def report_ids(self, code: str, origin: str) -> list[str]:
        ids: list[str] = []
        page = 1
        while True:
            answer = self.api(code, "GET", f"/reports/?origin={origin}&page={page}")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            ids += [row["id"] for row in body["results"]]
            if not body["next"]:
                return ids
            page += 1

    def manage(self, code: str, *args: str) -> str:
        return self.net.manage(code, *args)


def wait_until(check: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _db_prefix() -> str:
    """Node databases named after this run's own database, so two checkouts sharing one
    PostgreSQL server (two developers, or CI beside a developer) never drop each other's."""
    own = str(settings.DATABASES["default"]["NAME"]).removeprefix("test_")
    return f"e2e_{own}_"


def _flush_node_redis() -> None:
    base = settings.REDIS_URL.rsplit("/", 1)[0]
    for index in range(REDIS_OFFSET, REDIS_OFFSET + len(NODE_ORDER)):
        redis.Redis.from_url(f"{base}/{index}").flushdb()


TRUST_ADMINS = ("e2e-admin-1", "e2e-admin-2")


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    root: Path = tmp_path_factory.mktemp("federation")
    _flush_node_redis()
    port = free_port()
    net = LocalFederation(
        CODES,
        base_port=port if port + len(CODES) < 65000 else 18100,
        db_prefix=_db_prefix(),
        redis_offset=REDIS_OFFSET,
        data_root=root / "nodes",
        log_dir=root / "logs",
        extra_env={
            "FEDERATION_BACKOFF_BASE_S": "1",
            "FEDERATION_BACKOFF_CAP_S": "3",
            "FEDERATION_HELD_RETRY_S": "2",
            "FEDERATION_HELD_RETRY_CAP_S": "5",
            "FEDERATION_MANIFEST_PUSH_BACKOFF_CAP_S": "3",
            "FEDERATION_BATCH_SIZE": "25",
            "CELERY_VISIBILITY_TIMEOUT": "10",
        },
        web_workers=2,
        worker_concurrency=2,
    )
    net.prepare(fresh=True)
    fed = Federation(net)
    try:
        net.start()
        net.connect()
        for code in CODES:
            out = net.manage(
                code,
                "create_node_user",
                "e2e-releaser",
                "--role",
                "releaser",
                "--clearance",
                "SECRET",
                "--token",
            )
            fed.tokens[code] = out.strip().splitlines()[-1].split()[-1]
            for admin in TRUST_ADMINS:  # policy changes take two of them, as in the console
                net.manage(
                    code,
                    "create_node_user",
                    admin,
                    "--role",
                    "trust_admin",
                    "--clearance",
                    "SECRET",
                )
        yield fed
    finally:
        net.stop()
        print(f"\nnode logs kept in {root / 'logs'}")
