"""JSON log lines carry the request id the response names; a forged id is not trusted."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, RequestFactory

from ops.logs import ContextFilter, JsonFormatter
from ops.middleware import client_address

pytestmark = pytest.mark.django_db


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("exchange.access")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_every_request_gets_an_id_that_the_log_line_carries(access_lines: list[str]) -> None:
    answer = Client().get("/healthz")
    rid = answer["X-Request-ID"]
    assert len(rid) == 32
    line = json.loads(access_lines[-1])
    assert line["request_id"] == rid
    assert line["status"] == answer.status_code
    assert line["route"] == "healthz"
    assert line["message"].startswith("GET /healthz ")


def test_a_proxy_request_id_is_kept_and_a_forged_one_replaced(access_lines: list[str]) -> None:
    kept = Client().get("/healthz", HTTP_X_REQUEST_ID="nginx-5f2c1ab0")
    assert kept["X-Request-ID"] == "nginx-5f2c1ab0"
    forged = Client().get("/healthz", HTTP_X_REQUEST_ID='x"}\n{"level":"CRITICAL"')
    assert forged["X-Request-ID"] != 'x"}\n{"level":"CRITICAL"'
    assert all("\n" not in line for line in access_lines)
    assert json.loads(access_lines[-1])["request_id"] == forged["X-Request-ID"]


def test_exceptions_and_extras_are_fields_of_one_json_object() -> None:
    try:
        raise ValueError("invented failure")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
        record.exc_info = sys.exc_info()
    record.partner = "uk"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed x"
    assert line["partner"] == "uk"
    assert "ValueError: invented failure" in line["exc"]


def test_behind_a_trusted_proxy_the_client_address_is_the_forwarded_one(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.9.0.1"]
    request = RequestFactory().get(
        "/healthz", REMOTE_ADDR="10.9.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7, 10.9.0.1"
    )
    assert client_address(request) == "198.51.100.7"
    # anyone else's X-Forwarded-For is not believed
    direct = RequestFactory().get(
        "/healthz", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    assert client_address(direct) == "203.0.113.9"


def test_static_files_are_left_to_the_proxy_when_so_configured(settings: Any) -> None:
    assert Client().get("/static/web/web.css").status_code in (200, 304)
    settings.SERVE_STATIC = False
    assert Client().get("/static/web/web.css").status_code == 404
