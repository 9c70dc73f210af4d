"""JSON log lines carry the request id the response names; a forged id is not trusted."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest
from django.test import Client

from ops.logs import ContextFilter, JsonFormatter

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
