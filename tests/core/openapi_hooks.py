"""Schemathesis hooks for rules of the analyst API that JSON Schema cannot state.

Loaded by the schemathesis run in test_openapi_conformance (SCHEMATHESIS_HOOKS). Each hook
keeps generated *valid* requests inside one documented rule; invalid ones are sent as drawn,
and no hook hides an answer of the API.
"""

from __future__ import annotations

import os
import re
from typing import Any

import schemathesis

ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# The TAXII collection the test serves (a real medallion server): a pull schedule the generator
# saves must never make the node under test call a host on the internet.
PULL_COLLECTION = os.environ.get("OPENAPI_TEST_COLLECTION", "")
PULL_LOGIN = {"username": "puller", "secret": "Invented-Password-1"}


def _dates_in_order(body: dict[str, Any]) -> dict[str, Any]:
    """ "event_end is not before event_start" compares two fields."""
    start, end = body.get("event_start"), body.get("event_end")
    if not (isinstance(start, str) and isinstance(end, str)):
        return body
    if ISO_DATE.match(start) and ISO_DATE.match(end) and end < start:
        return {**body, "event_start": end, "event_end": start}
    return body


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return case
    path = case.operation.path
    if path in ("/api/v1/reports/", "/api/v1/reports/{report_id}/"):
        case.body = _dates_in_order(case.body)
    elif path == "/api/v1/stix/pull-sources/" and PULL_COLLECTION:
        case.body = {**case.body, "collection_url": PULL_COLLECTION, **PULL_LOGIN}
    return case
