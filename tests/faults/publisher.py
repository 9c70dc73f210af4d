"""Steady publishing load for the fault lab, run inside a node's namespace:

    python tests/faults/publisher.py URL TOKEN RATE SECONDS LABEL

Publishes RATE reports a second through the analyst API for SECONDS, with markings drawn at
random (REL TO subsets of the lab's nodes and Five Eyes, every classification, TLP). A request
that fails (the node's web or database is down by design) is counted and the load goes on: the
checker's truth is the origin's database, not this process's view. Titles carry LABEL and a
sequence number, so a copy stored twice anywhere shows.
"""

from __future__ import annotations

import os
import random
import sys
import time
from typing import Any

import requests

CLASSIFICATIONS = ["OFFICIAL", "RESTRICTED", "CONFIDENTIAL", "SECRET"]
REL_TO = [["us", "uk", "jp"], ["fvey"], ["fvey", "jp"], ["us", "uk"], ["uk", "jp"], ["us", "jp"]]
TLP = ["clear", "green", "amber", "amber", "red"]


def body(label: str, seq: int, rng: random.Random) -> dict[str, Any]:
    fixed = os.environ.get("PUBLISH_REL_TO")  # one kind of report only (a fault's own probe)
    return {
        "title": f"{label}-{seq:06d} {rng.randint(8, 900)} × H100 SXM via Kuala Lumpur",
        "summary": "Invented load for the fault lab: a consignment routed through a hub.",
        "category": "chip_diversion",
        "status": "published",
        "markings": {
            "classification": "OFFICIAL" if fixed else rng.choice(CLASSIFICATIONS),
            "rel_to": fixed.split(",") if fixed else rng.choice(REL_TO),
            "orcon": False,
            "tlp": "green" if fixed else rng.choice(TLP),
        },
        "source_reliability": "B",
        "info_credibility": 2,
        "event_start": "2026-10-01",
        "details": {
            "items": [
                {"model": "H100 SXM", "quantity": rng.randint(8, 900), "serials": [f"L{seq:07d}"]}
            ],
            "consignee": {"name": f"Invented Lab Trading {seq % 97}", "country": "MY"},
            "route": ["US", "MY", "CN"],
            "shipment_ref": f"LAB-{label}-{seq}",
        },
        "entities": [],
    }


def main() -> None:
    url, token, rate, seconds, label = sys.argv[1:6]
    rng = random.Random(label)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    started = time.monotonic()
    interval = 1 / float(rate)
    seq, failed = 0, 0
    while time.monotonic() - started < float(seconds):
        due = started + seq * interval
        time.sleep(max(0.0, due - time.monotonic()))
        seq += 1
        try:
            answer = session.post(f"{url}/api/v1/reports/", json=body(label, seq, rng), timeout=10)
            if answer.status_code != 201:
                failed += 1
        except requests.RequestException:
            failed += 1
    print(f"published attempts={seq} failed={failed}", flush=True)


if __name__ == "__main__":
    main()
