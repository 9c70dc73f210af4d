"""End to end: us publishes its signed audit head to uk; someone holding us's host (database
owner and MAC key) rewrites, then truncates, us's audit log; uk, from the heads it stored,
shows both."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import chip_report
from tests.e2e.conftest import Federation

pytestmark = pytest.mark.e2e

# Run inside us's own environment (its settings, database as owner, MAC key file).
REWRITE = """
from django.db import connection
from audit.models import AuditEntry
from audit.selectors import verify_chain
from audit.services import entry_mac
from federation.protocol.audithead import chain_step
with connection.cursor() as cursor:
    cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
    prev = None
    for entry in AuditEntry.objects.order_by("seq"):
        if entry.seq == 1:
            prev = entry.hash
            continue
        if entry.seq == 2:
            entry.target = "nothing to see here"
        entry.prev_hash = prev
        entry.mac = entry_mac(entry)
        entry.hash = prev = chain_step(prev, entry.mac)
        cursor.execute(
            "UPDATE audit_auditentry SET target = %s, prev_hash = %s, mac = %s, hash = %s"
            " WHERE id = %s",
            [entry.target, entry.prev_hash, entry.mac, entry.hash, entry.id],
        )
    cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
print("intact" if verify_chain().intact else "broken")
"""

TRUNCATE = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_no_truncate")
    cursor.execute("TRUNCATE audit_auditentry")
    cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_no_truncate")
print("truncated")
"""


def check(fed: Federation) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(
        fed.manage("uk", "audit_anchor", "check", "us").strip().splitlines()[-1]
    )
    return answer


def test_a_partner_detects_a_rewritten_then_a_truncated_audit_log(federation: Federation) -> None:
    fed = federation
    for n in range(3):  # publishing is audited: a few entries of us's own
        body = chip_report(title=f"audit anchoring {n}")
        body["markings"] = {
            "classification": "OFFICIAL",
            "rel_to": ["us"],
            "orcon": False,
            "tlp": "green",
        }
        fed.publish("us", body)
    published = json.loads(fed.manage("us", "audit_anchor", "publish").strip().splitlines()[-1])
    assert published["stored_by"] == 3  # uk, eu and jp each keep us's signed head
    assert check(fed)["verdict"] == "consistent"

    # Whoever rewrote it held the MAC key: us's own chain check still says intact...
    assert fed.manage("us", "shell", "-c", REWRITE).strip().splitlines()[-1] == "intact"
    # ...but uk holds the head it was given, and no proof leads from it to the new one.
    rewritten = check(fed)
    assert rewritten["verdict"] == "rewritten"

    assert fed.manage("us", "shell", "-c", TRUNCATE).strip().splitlines()[-1] == "truncated"
    truncated = check(fed)
    assert truncated["verdict"] == "truncated"
    assert truncated["shown"] == 0
    refusals = json.loads(fed.manage("uk", "federation_status"))["refusals"]["us"]
    assert refusals.get("audit_rewritten") == 1
    assert refusals.get("audit_truncated") == 1
