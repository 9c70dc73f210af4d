"""Two nodes federating over https through their own nginx, each run as production runs it
(gunicorn, one Celery pool per queue, one beat, Redis with AOF and noeviction, production
settings): reports publish, deliver, verify and score across them; `check --deploy` is clean;
killing any one process loses and duplicates nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from django.conf import settings

from ops.management.commands.run_beat import BEAT_LOCK_KEY
from tests.conftest import chip_report
from tests.e2e.conftest import wait_until
from tests.production.topology import (
    METRICS_TOKEN,
    NGINX,
    ProductionNode,
    database_url,
    introduce,
    make_ca,
    redis_server,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ProductionNode]]:
    if not Path(NGINX).exists():
        pytest.fail(f"{NGINX} is missing: apt-get install nginx (infra/bootstrap.py does)")
    root = tmp_path_factory.mktemp("production")
    ca, cert, key = make_ca(root)
    redis, redis_port = redis_server(root / "redis")
    own = str(settings.DATABASES["default"]["NAME"]).removeprefix("test_")
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    made = {
        code: ProductionNode(
            code=code,
            root=root / code,
            database_url=database_url(base, f"e2e_{own}_prod_{code}"),
            redis_url=f"redis://127.0.0.1:{redis_port}/{n}",
            ca=ca,
            cert=cert,
            key=key,
            # us runs two of everything, as if on two hosts: they must share, never repeat
            replicas=2 if code == "us" else 1,
        )
        for n, code in enumerate(("us", "uk"))
    }
    for node in made.values():
        node.root.mkdir(parents=True)
    try:
        introduce(list(made.values()), root / "offline-root")
        for node in made.values():
            node.start_all()
        for node in made.values():
            node.manage("local_federation", "connect")
        yield made
    finally:
        for node in made.values():
            node.stop_all()
        redis.terminate()
        redis.wait(timeout=10)
        print(f"\nproduction topology logs kept in {root}")


def _token(node: ProductionNode) -> str:
    out = node.manage(
        "create_node_user", "topology-releaser", "--role", "releaser", "--clearance", "SECRET",
        "--token",
    ).stdout  # fmt: skip
    return out.strip().splitlines()[-1].split()[-1]


@pytest.fixture(scope="module")
def us_token(nodes: dict[str, ProductionNode]) -> str:
    return _token(nodes["us"])


@pytest.fixture(scope="module")
def uk_token(nodes: dict[str, ProductionNode]) -> str:
    return _token(nodes["uk"])


def _publish(node: ProductionNode, token: str, title: str) -> str:
    body: dict[str, Any] = chip_report(title=title)
    body["markings"] = {**body["markings"], "classification": "OFFICIAL", "rel_to": ["fvey"]}
    answer = requests.post(
        f"{node.url}/api/v1/reports/",
        json={**body, "status": "published"},
        headers={"Authorization": f"Token {token}"},
        verify=str(node.ca),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _held(node: ProductionNode, ids: list[str]) -> dict[str, int]:
    import json

    out = node.manage("federation_status", "--reports", ",".join(ids)).stdout
    return json.loads(out.strip().splitlines()[-1]).get("versions", {})


def test_check_deploy_is_clean_with_the_production_settings(
    nodes: dict[str, ProductionNode],
) -> None:
    result = nodes["us"].manage("check", "--deploy", "--fail-level", "WARNING", check=False)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr
    assert "WARNING" not in result.stderr


def test_reports_cross_https_verified_and_scored(
    nodes: dict[str, ProductionNode], us_token: str, uk_token: str
) -> None:
    us, uk = nodes["us"], nodes["uk"]
    assert us.get("/healthz").status_code == 200
    # TLS is the proxy's: plain http to the TLS port is refused, and static files come from nginx
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{us.tls_port}/healthz", timeout=5).raise_for_status()
    assert us.get("/static/web/web.css").status_code == 200
    assert us.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=")
    ids = [_publish(us, us_token, f"Invented topology consignment {i}") for i in range(5)]
    wait_until(lambda: set(_held(uk, ids)) == set(ids), 90, "uk to receive over https")
    auth = {"Authorization": f"Token {uk_token}"}
    provenance = uk.get(f"/api/v1/reports/{ids[0]}/provenance/", headers=auth).json()
    assert "verified" in str(provenance)

    def scored() -> bool:
        cases = uk.get("/api/v1/cases/?origin=us", headers=auth)
        return cases.status_code == 200 and bool(cases.json().get("results"))

    wait_until(scored, 90, "uk's scoring pool to score the received reports")
    us.wait_ready()
    uk.wait_ready()
    metrics = us.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200
    assert 'exchange_heartbeat_age_seconds{process="worker:federation"}' in metrics.text
    assert "exchange_request_seconds_bucket" in metrics.text


@pytest.mark.parametrize("victim", ["web", "worker-federation", "worker-scoring", "beat"])
def test_killing_one_process_loses_nothing(
    nodes: dict[str, ProductionNode], us_token: str, victim: str
) -> None:
    us, uk = nodes["us"], nodes["uk"]
    sent = [_publish(us, us_token, f"Invented before killing {victim} {i}") for i in range(5)]
    for node in (us, uk):
        node.kill(victim)
    if victim != "web":  # with the web down nothing can be published; uk's outbox rows wait
        sent += [_publish(us, us_token, f"Invented while {victim} is down {i}") for i in range(5)]
    for node in (us, uk):
        node.start(victim)
        node.wait_ready("/healthz")
    sent += [_publish(us, us_token, f"Invented after restarting {victim} {i}") for i in range(5)]
    wait_until(lambda: set(_held(uk, sent)) == set(sent), 120, f"uk to hold all after {victim}")
    held = _held(uk, sent)
    duplicated = [rid for rid, n in held.items() if n != 1]
    print(f"killed {victim}: sent {len(sent)}, held {len(held)}, duplicated {len(duplicated)}")
    assert not duplicated
    us.wait_ready(timeout=90)


def test_two_of_everything_share_the_work_and_one_beat_schedules(
    nodes: dict[str, ProductionNode], us_token: str
) -> None:
    us, uk = nodes["us"], nodes["uk"]
    sent = [_publish(us, us_token, f"Invented scale-out consignment {i}") for i in range(30)]
    wait_until(lambda: set(_held(uk, sent)) == set(sent), 120, "uk to hold the scale-out batch")
    assert all(n == 1 for n in _held(uk, sent).values())
    logs = {name: (us.root / f"{name}.log").read_text() for name in us.names()}
    # both web processes answered (nginx spreads requests over its upstream)
    assert '"route": "report-list"' in logs["web"]
    assert '"route": "report-list"' in logs["web-2"]
    # the two federation workers both delivered
    for worker in ("worker-federation", "worker-federation-2"):
        assert "federation.tasks" in logs[worker], worker
        assert "succeeded" in logs[worker], worker
    # both beats run, exactly one holds the lock and schedules; the other is a standby
    assert us.processes["beat"].poll() is None
    assert us.processes["beat-2"].poll() is None
    with psycopg.connect(us.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted"
            " AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
            [BEAT_LOCK_KEY],
        ).fetchone()
    assert row is not None
    assert row[0] == 1
