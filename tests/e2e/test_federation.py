"""End to end: four real nodes (us, uk, eu, jp) with real workers, PostgreSQL and Redis.

The tests run in order on one federation (each leaves the policies as it found them).
Demo trust set up by `local_federation introduce`: Five Eyes pairs share up to SECRET, the
others up to CONFIDENTIAL; each test then narrows what it needs.
"""

from __future__ import annotations

import json
import threading
import time
from itertools import product
from typing import Any

import pytest

from tests.conftest import chip_report
from tests.e2e.conftest import TRUST_ADMINS, Federation, wait_until

pytestmark = pytest.mark.e2e

FVEY = {"us", "uk", "ca", "au", "nz"}
LEVEL = {"OFFICIAL": 1, "RESTRICTED": 2, "CONFIDENTIAL": 3, "SECRET": 4}
# What us's policies allow each partner (ceiling, categories or None = all, TLP or None = all).
POLICY = {
    "uk": ("SECRET", None, None),
    "jp": ("CONFIDENTIAL", None, None),
    "eu": ("CONFIDENTIAL", {"chip_diversion", "military_ai"}, {"clear", "green", "amber"}),
}


def expand(rel_to: list[str]) -> set[str]:
    nodes: set[str] = set()
    for token in rel_to:
        nodes |= FVEY if token == "fvey" else {token}
    return nodes


def entitled(node: str, classification: str, rel_to: list[str], category: str, tlp: str) -> bool:
    """The test's own oracle, written from the rules, not from the code under test."""
    if node not in expand(rel_to):
        return False
    if tlp == "red" and node not in rel_to:
        return False
    ceiling, categories, colours = POLICY[node]
    if LEVEL[classification] > LEVEL[ceiling]:
        return False
    if categories is not None and category not in categories:
        return False
    return colours is None or tlp in colours


def report(
    classification: str, rel_to: list[str], category: str, tlp: str, title: str
) -> dict[str, Any]:
    if category == "chip_diversion":
        body = chip_report(title=title)
    else:
        body = chip_report(
            title=title,
            category="cloud_compute",
            details={
                "provider": {"name": "Nimbus Grid Cloud", "country": "SG"},
                "customer": {"name": "Orchid Computing LLC", "country": "MY"},
                "chips": [{"model": "H100 SXM", "quantity": 256}],
                "gpu_hours": 200_000,
                "red_flags": ["third_country_payment"],
            },
        )
    body["markings"] = {
        "classification": classification,
        "rel_to": rel_to,
        "orcon": False,
        "tlp": tlp,
    }
    body["entities"] = []
    return body


def status(fed: Federation, code: str, reports: list[str] | None = None) -> dict[str, Any]:
    args = ["--reports", ",".join(reports)] if reports else []
    return json.loads(fed.manage(code, "federation_status", *args).strip().splitlines()[-1])


def outbox(fed: Federation, code: str) -> dict[str, dict[str, int]]:
    return status(fed, code)["outbox"]


def versions_held(fed: Federation, code: str, ids: list[str]) -> dict[str, int]:
    return status(fed, code, ids)["versions"]


def set_policy(fed: Federation, code: str, partner: str, *args: str) -> None:
    """Propose and approve a policy change, by two trust administrators, as the console does."""
    first, second = TRUST_ADMINS
    proposed = fed.manage(
        code, "federation_partner", "policy", partner, *args, "--reason", "e2e", "--by", first
    )
    change = proposed.strip().splitlines()[0].split()[2]
    fed.manage(code, "federation_partner", "approve", change, "--by", second)


@pytest.fixture(scope="module", autouse=True)
def narrowed_policies(federation: Federation) -> None:
    set_policy(
        federation,
        "us",
        "eu",
        "--ceiling",
        "CONFIDENTIAL",
        "--categories",
        "chip_diversion,military_ai",
        "--tlp",
        "clear,green,amber",
    )


def test_release_matrix_reaches_exactly_the_entitled_nodes(federation: Federation) -> None:
    fed = federation
    grid = product(
        ["OFFICIAL", "CONFIDENTIAL", "SECRET"],
        [["us"], ["fvey"], ["fvey", "jp"], ["us", "eu"], ["eu", "jp", "us"]],
        ["chip_diversion", "cloud_compute"],
        ["amber"],
    )
    red = [
        ("OFFICIAL", ["jp", "uk", "us"], "chip_diversion", "red"),
        ("OFFICIAL", ["fvey", "jp"], "chip_diversion", "red"),
    ]
    cases = [*grid, *red]
    expected: dict[str, set[str]] = {node: set() for node in POLICY}
    for index, (cls, rel, category, tlp) in enumerate(cases):
        rid = fed.publish("us", report(cls, rel, category, tlp, f"matrix {index}"))
        for node in POLICY:
            if entitled(node, cls, rel, category, tlp):
                expected[node].add(rid)
    assert all(expected.values()), "the matrix must send something to every partner"

    def settled() -> bool:
        return all(len(fed.report_ids(node, "us")) >= len(expected[node]) for node in POLICY)

    wait_until(settled, 90, "every entitled report to arrive")
    time.sleep(3)  # anything wrongly sent would arrive in this window too
    for node, ids in expected.items():
        held = set(fed.report_ids(node, "us"))
        leaks = held - ids
        missing = ids - held
        print(
            f"matrix {node}: expected {len(ids)}, held {len(held)}, leaks {len(leaks)}, "
            f"missing {len(missing)}"
        )
        assert not leaks, f"{node} holds reports it is not entitled to"
        assert not missing, f"{node} lacks reports it is entitled to"
    assert all(
        s.get("dead", 0) == 0 and s.get("pending", 0) == 0 for s in outbox(fed, "us").values()
    )


def test_partner_down_then_back_gets_everything_once(federation: Federation) -> None:
    fed = federation
    before = set(fed.report_ids("uk", "us"))
    fed.net.stop_web("uk")
    sent = [
        fed.publish(
            "us", report("OFFICIAL", ["fvey"], "chip_diversion", "amber", f"while uk is down {i}")
        )
        for i in range(20)
    ]
    wait_until(
        lambda: outbox(fed, "us")["uk"].get("pending", 0) >= 20,
        30,
        "deliveries to uk to be held back",
    )
    time.sleep(3)  # several failed attempts with backoff
    fed.net.start_web("uk")
    fed.net.wait_until_up("uk")
    wait_until(lambda: set(sent) <= set(fed.report_ids("uk", "us")), 90, "uk to catch up")
    held = versions_held(fed, "uk", sent)
    lost = [rid for rid in sent if rid not in held]
    duplicated = [rid for rid, n in held.items() if n != 1]
    print(
        f"partner down: sent {len(sent)}, received {len(held)}, lost {len(lost)}, "
        f"duplicated {len(duplicated)}"
    )
    assert not lost
    assert not duplicated
    assert set(fed.report_ids("uk", "us")) == before | set(sent)


def test_worker_killed_mid_batch_loses_and_duplicates_nothing(federation: Federation) -> None:
    fed = federation
    start = len(fed.report_ids("uk", "us"))
    sent: list[str] = []

    def publish_many() -> None:
        for i in range(150):
            sent.append(
                fed.publish(
                    "us", report("OFFICIAL", ["fvey"], "chip_diversion", "amber", f"kill test {i}")
                )
            )

    publisher = threading.Thread(target=publish_many)
    publisher.start()
    wait_until(
        lambda: len(fed.report_ids("uk", "us")) - start >= 20, 60, "deliveries to start", every=0.1
    )
    fed.net.kill_worker("us")
    at_kill = len(fed.report_ids("uk", "us")) - start
    time.sleep(2)
    fed.net.start_worker("us")
    publisher.join(timeout=120)
    assert len(sent) == 150
    wait_until(
        lambda: set(sent) <= set(fed.report_ids("uk", "us")),
        120,
        "every report to reach uk after the worker was killed",
    )
    held = versions_held(fed, "uk", sent)
    lost = [rid for rid in sent if rid not in held]
    duplicated = [rid for rid, n in held.items() if n != 1]
    print(
        f"worker SIGKILL: sent {len(sent)}, delivered before kill {at_kill}, received "
        f"{len(held)}, lost {len(lost)}, duplicated {len(duplicated)}"
    )
    assert at_kill < len(sent), "the kill must land while deliveries are still owed"
    assert not lost
    assert not duplicated
    state = outbox(fed, "us")["uk"]
    assert state.get("dead", 0) == 0
    assert state.get("pending", 0) == 0


def test_relay_through_uk_is_verified_at_jp_with_us_signature(federation: Federation) -> None:
    fed = federation
    fed.manage(
        "us", "federation_partner", "suspend", "jp", "--by", TRUST_ADMINS[0]
    )  # us cannot reach jp directly
    # uk's administrators agree to relay us's reports to jp before jp's do (issue 11, D4).
    set_policy(fed, "uk", "jp", "--ceiling", "CONFIDENTIAL", "--relay-origins", "us")
    try:
        rid = fed.publish(
            "us",
            report("CONFIDENTIAL", ["jp", "uk", "us"], "chip_diversion", "amber", "relayed via uk"),
        )
        wait_until(
            lambda: bool(status(fed, "jp")["refusals"].get("uk", {}).get("not_accepted_by_policy")),
            60,
            "jp to refuse the relay by its own policy",
        )
        assert status(fed, "jp")["partners"]["uk"]["suspected_leak"] is False  # REL TO names jp
        assert outbox(fed, "uk")["jp"].get("dead", 0) == 0  # held, to be sent again
        assert rid not in fed.report_ids("jp", "us")

        set_policy(fed, "jp", "uk", "--ceiling", "CONFIDENTIAL", "--relay-origins", "us")
        # uk sends the held copy again when its wait is over (2 s here, doubling to 5 s).
        wait_until(lambda: rid in fed.report_ids("jp", "us"), 60, "the relayed report at jp")
        wait_until(lambda: outbox(fed, "uk")["jp"].get("held", 0) == 0, 30, "no copy held")
        provenance = fed.api("jp", "GET", f"/reports/{rid}/provenance/").json()
        release = provenance["releases"][0]
        assert release["signed_by"]["node"] == "us"
        assert release["signature"] == "verified"
        assert release["received_from"] == "uk"
        assert set(release["countersigned_by"]) == {"uk"}
        assert release["paths"][0]["hops"][-1]["from"] == "uk"
    finally:
        fed.manage("us", "federation_partner", "resume", "jp", "--by", TRUST_ADMINS[0])
        set_policy(fed, "uk", "jp", "--ceiling", "CONFIDENTIAL")
        set_policy(fed, "jp", "uk", "--ceiling", "CONFIDENTIAL")


def test_withdrawn_entitlement_stops_further_versions(federation: Federation) -> None:
    fed = federation
    rid = fed.publish(
        "us", report("CONFIDENTIAL", ["fvey"], "chip_diversion", "amber", "entitlement withdrawn")
    )
    wait_until(lambda: rid in fed.report_ids("uk", "us"), 60, "first version at uk")
    set_policy(fed, "us", "uk", "--ceiling", "OFFICIAL")
    try:
        body = report("CONFIDENTIAL", ["fvey"], "chip_diversion", "amber", "second version")
        answer = fed.api("us", "PUT", f"/reports/{rid}/", json={**body, "base_version": 1})
        assert answer.status_code == 200, answer.text
        time.sleep(5)
        assert versions_held(fed, "uk", [rid]) == {rid: 1}
    finally:
        set_policy(fed, "us", "uk", "--ceiling", "SECRET")


def test_new_entitlement_queues_existing_reports(federation: Federation) -> None:
    fed = federation
    rid = fed.publish(
        "us",
        report("SECRET", ["fvey", "jp"], "chip_diversion", "amber", "secret before jp was cleared"),
    )
    time.sleep(3)
    assert rid not in fed.report_ids("jp", "us")
    set_policy(fed, "us", "jp", "--ceiling", "SECRET")
    try:
        wait_until(lambda: rid in fed.report_ids("jp", "us"), 60, "jp to receive it")
    finally:
        set_policy(fed, "us", "jp", "--ceiling", "CONFIDENTIAL")


def test_key_rotation_then_revocation(federation: Federation) -> None:
    fed = federation
    listing = fed.manage("us", "federation_keys", "show")
    old_kid = next(
        line.split()[-1] for line in listing.splitlines() if line.startswith("report   current")
    )
    before_rotation = fed.publish(
        "us", report("SECRET", ["us", "eu"], "chip_diversion", "amber", "signed with the old key")
    )
    fed.manage("us", "federation_keys", "rotate", "--use", "report")
    after = fed.publish(
        "us", report("OFFICIAL", ["fvey"], "chip_diversion", "amber", "signed with the new key")
    )
    wait_until(lambda: after in fed.report_ids("uk", "us"), 60, "the new-key report at uk")
    assert status(fed, "uk")["refusals"].get("us", {}) == {}, "rotation must cause no refusal"
    # Revoke the retired key: eu, newly cleared for SECRET, must refuse what it signed.
    # Emergency revocation: the node stops using the key at once; the custodian then runs the
    # ceremony with the offline root, whose new manifests list it revoked and are pushed.
    fed.manage("us", "federation_keys", "revoke", "--kid", old_kid, "--reason", "e2e test")
    fed.net.ceremony("us")
    wait_until(
        lambda: old_kid in status(fed, "eu")["manifests"]["us"]["revoked"],
        30,
        "eu to learn of the revocation",
    )
    set_policy(
        fed,
        "us",
        "eu",
        "--ceiling",
        "SECRET",
        "--categories",
        "chip_diversion,military_ai",
        "--tlp",
        "clear,green,amber",
    )
    try:
        wait_until(
            lambda: outbox(fed, "us")["eu"].get("dead", 0) >= 1,
            60,
            "eu to refuse the revoked signature",
        )
        assert before_rotation not in fed.report_ids("eu", "us")
        assert set(status(fed, "eu")["refusals"]["us"]) == {"revoked_key"}
    finally:
        set_policy(
            fed,
            "us",
            "eu",
            "--ceiling",
            "CONFIDENTIAL",
            "--categories",
            "chip_diversion,military_ai",
            "--tlp",
            "clear,green,amber",
        )


def test_received_reports_are_scored_into_cases_by_the_worker(federation: Federation) -> None:
    fed = federation

    def scored_cases() -> list[dict[str, Any]]:
        answer = fed.api("uk", "GET", "/cases/?origin=us")
        assert answer.status_code == 200, answer.text
        return answer.json()["results"]

    wait_until(lambda: len(scored_cases()) > 0, 60, "the scoring worker to build cases at uk")
    cases = scored_cases()
    scores = [case["score"] for case in cases]
    assert scores == sorted(scores, reverse=True)
    top = cases[0]
    total = top["baseline"] + sum(line["points"] for line in top["contributions"])
    assert abs(total - top["score"]) < 0.05, "the explanation adds up to the score"
    assert top["origins"] == ["us"]


def test_a_partner_down_during_a_revocation_refuses_the_key_soon_after_it_returns(
    federation: Federation,
) -> None:
    """Issue 11, D3: jp is down while us revokes its request key and runs the ceremony; the
    push is kept and retried, and jp lists the key revoked within seconds of coming back."""
    fed = federation
    listing = fed.manage("us", "federation_keys", "show")
    revoked = next(
        line.split()[-1]
        for line in listing.splitlines()
        if line.split()[:2] == ["request", "current"]
    )
    fed.net.stop_web("jp")
    try:
        fed.manage("us", "federation_keys", "revoke", "--kid", revoked, "--reason", "e2e: jp down")
        fed.net.ceremony("us")
        wait_until(
            lambda: status(fed, "us")["manifest_pushes"]["jp"]["attempts"] >= 2,
            30,
            "the push to jp to fail and be retried",
        )
        assert status(fed, "us")["manifest_pushes"]["jp"]["state"] == "pending"
        assert revoked not in status(fed, "jp")["manifests"]["us"]["revoked"]
    finally:
        fed.net.start_web("jp")
        fed.net.wait_until_up("jp")
    back = time.monotonic()
    wait_until(
        lambda: revoked in status(fed, "jp")["manifests"]["us"]["revoked"],
        30,
        "jp to learn of the revocation",
    )
    took = time.monotonic() - back
    print(f"revocation: jp refuses the key {took:.1f} s after it came back")
    assert took < 15
    pushes = status(fed, "us")["manifest_pushes"]
    assert {code: push["state"] for code, push in pushes.items()} == {
        "uk": "acknowledged",
        "eu": "acknowledged",
        "jp": "acknowledged",
    }
