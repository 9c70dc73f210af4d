"""Receiving a batch in bulk: the same per-item answers and the same rows as item by item.

`both_ways` runs a batch through the bulk path and through the item-by-item path (each in a
transaction rolled back afterwards) and checks they answer and write the same; the batch is
then received for real through the bulk path.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from federation.models import Delivery, Envelope, Partner, Receipt, Refusal
from federation.protocol.envelope import signed_digest
from federation.protocol.keys import generate
from federation.services import inbox
from federation.services.inbox import receive_items
from reports import services as report_services
from reports.models import Entity, Report, ReportEntity, ReportVersion, Status
from reports.services import normalise_name

from .partners import (
    FakePartner,
    chip_payload,
    next_version,
    register_partner,
    report_envelope,
    tampered,
)

pytestmark = pytest.mark.django_db


def items_of(*envelopes: dict[str, Any], first_seq: int = 1) -> list[dict[str, Any]]:
    return [{"seq": first_seq + n, "envelope": env} for n, env in enumerate(envelopes)]


def snapshot() -> dict[str, Any]:
    """Everything the inbox writes, without generated ids and timestamps."""
    links = ReportEntity.objects.values_list(
        "version__report_id",
        "version__version",
        "entity__kind",
        "entity__normalized_name",
        "entity__country",
        "role",
    )
    return {
        "reports": sorted(
            Report.objects.values_list(
                "id",
                "origin",
                "current_version",
                "status",
                "title",
                "category",
                "classification",
                "rel_to",
                "rel_nodes",
                "orcon",
                "tlp",
                "countries",
                "event_start",
                "event_end",
                "author",
            )
        ),
        "versions": sorted(
            (
                v.report_id,
                v.version,
                v.status,
                v.title,
                v.summary,
                v.change_note,
                v.details,
                v.classification,
                v.rel_to,
                v.rel_nodes,
                v.tlp,
                v.orcon,
                v.countries,
                v.source_reliability,
                v.info_credibility,
            )
            for v in ReportVersion.objects.all()
        ),
        "links": sorted(links),
        "entities": sorted(
            Entity.objects.values_list("kind", "normalized_name", "country", "name")
        ),
        "envelopes": sorted(
            (
                e.report_id,
                e.ver,
                e.typ,
                e.origin,
                e.digest,
                e.received_from,
                e.origin_kid,
                repr(e.hops),
                repr(e.relay_kids),
                e.local_version,
                e.iat,
                repr(e.body),
            )
            for e in Envelope.objects.all()
        ),
        "receipts": sorted(
            (r.envelope.digest, r.from_partner, repr(r.hops))
            for r in Receipt.objects.select_related("envelope")
        ),
        "deliveries": sorted(
            Delivery.objects.values_list("partner__code", "envelope__digest", "seq", "state")
        ),
        "refusals": list(
            Refusal.objects.order_by("id").values_list(
                "partner", "code", "reason", "origin", "report_id", "ver", "leak_suspected"
            )
        ),
        "partners": sorted(
            Partner.objects.values_list(
                "code", "next_seq", "received_seq", "received_ahead", "suspected_leak"
            )
        ),
    }


def _always_abort(*args: Any) -> Any:
    raise inbox._BulkAborted


def _never_item_by_item(*args: Any) -> Any:
    raise AssertionError("the bulk path fell back to the item-by-item path")


@contextmanager
def item_by_item() -> Iterator[None]:
    """Receive through the item-by-item path (the fallback) only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inbox, "_receive_in_bulk", _always_abort)
        yield


def _trial(sender: Partner, items: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    with transaction.atomic():
        results = receive_items(sender, items)
        written = snapshot()
        transaction.set_rollback(True)
    return results, written


def both_ways(fake: FakePartner, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check the bulk and item-by-item paths agree on `items`, then receive them in bulk."""
    sender = fake.partner
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inbox, "_receive_each", _never_item_by_item)
        bulk = _trial(sender, items)
    with item_by_item():
        each = _trial(sender, items)
    assert bulk[0] == each[0]
    for table in bulk[1]:
        assert bulk[1][table] == each[1][table], table
    results = receive_items(fake.partner, items)
    assert results == bulk[0]
    return results


def outcomes(results: list[dict[str, Any]]) -> list[str]:
    return [r["result"] if r["result"] != "refused" else r["code"] for r in results]


# --------------------------------------------------------------------------------------------
# Versions of one report in one batch
# --------------------------------------------------------------------------------------------


def test_versions_of_one_report_in_one_batch_chain(uk: FakePartner, onward: FakePartner) -> None:
    one = uk.report_envelope()
    two = uk.sign(next_version(one, title="Revised", change_note="more serials"))
    three = uk.sign(next_version(two, title="Revised again"))
    withdrawn = uk.tombstone(three, reason="source recanted")

    results = both_ways(uk, items_of(one, two, three, withdrawn))

    assert outcomes(results) == ["accepted"] * 4
    report = Report.objects.get(pk=one["id"])
    assert (report.current_version, report.status, report.title) == (
        4,
        Status.WITHDRAWN,
        "Revised again",
    )
    versions = list(ReportVersion.objects.filter(report=report).order_by("version"))
    assert [(v.version, v.status, v.title) for v in versions] == [
        (1, Status.PUBLISHED, one["payload"]["title"]),
        (2, Status.PUBLISHED, "Revised"),
        (3, Status.PUBLISHED, "Revised again"),
        (4, Status.WITHDRAWN, "Revised again"),
    ]
    assert versions[3].change_note == "Withdrawn by uk: source recanted"
    # The withdrawal keeps the entities of the version it withdraws.
    linked = [
        set(ReportEntity.objects.filter(version=v).values_list("entity_id", "role"))
        for v in versions
    ]
    assert linked[3]
    assert linked[3] == linked[2]
    envelopes = Envelope.objects.filter(report=report).order_by("ver")
    assert [(e.ver, e.local_version, e.digest) for e in envelopes] == [
        (n, n, signed_digest(env)) for n, env in enumerate((one, two, three, withdrawn), 1)
    ]
    # Each release is owed onwards, in order.
    assert list(
        Delivery.objects.filter(partner__code="nz").order_by("seq").values_list("envelope__ver")
    ) == [(1,), (2,), (3,), (4,)]


def test_a_broken_chain_inside_one_batch(uk: FakePartner, onward: FakePartner) -> None:
    one = uk.report_envelope()
    two = uk.sign(next_version(one, title="Revised"))
    forked = uk.sign(next_version(one, title="Forked"))  # a different version 2
    bad_prev = uk.sign(next_version(two, prev=signed_digest(one), title="Off the chain"))
    late_one = uk.report_envelope(report_id=one["id"], payload=chip_payload(title="Late"))

    results = both_ways(uk, items_of(one, two, two, forked, bad_prev, late_one))

    assert outcomes(results) == [
        "accepted",
        "accepted",
        "duplicate",
        "conflict",
        "prev_mismatch",
        "conflict",
    ]
    assert Report.objects.get(pk=one["id"]).title == "Revised"
    assert Receipt.objects.filter(envelope__report_id=one["id"]).count() == 2


def test_a_withdrawal_then_a_new_version_in_one_batch(uk: FakePartner) -> None:
    one = uk.report_envelope()
    withdrawn = uk.tombstone(one)
    again = uk.sign(next_version(withdrawn, prev=signed_digest(withdrawn)))
    # next_version copies the tombstone's payload: give it a report's payload again.
    again = uk.sign(
        report_envelope(
            iss="uk",
            report_id=one["id"],
            ver=3,
            prev=signed_digest(withdrawn),
            payload=chip_payload(origin_version=3, title="Republished"),
        )
    )

    results = both_ways(uk, items_of(one, withdrawn, again))

    assert outcomes(results) == ["accepted"] * 3
    report = Report.objects.get(pk=one["id"])
    assert (report.current_version, report.status, report.title) == (
        3,
        Status.PUBLISHED,
        "Republished",
    )


def test_a_withdrawal_of_a_report_stored_before_the_batch(
    uk: FakePartner, onward: FakePartner
) -> None:
    one = uk.report_envelope()
    assert outcomes(receive_items(uk.partner, items_of(one))) == ["accepted"]
    never = uk.report_envelope()

    results = both_ways(uk, items_of(uk.tombstone(one), uk.tombstone(never), first_seq=2))

    assert outcomes(results) == ["accepted", "unknown_report"]
    assert Report.objects.get(pk=one["id"]).status == Status.WITHDRAWN


# --------------------------------------------------------------------------------------------
# A mixed batch answers item by item exactly as the item-by-item path does
# --------------------------------------------------------------------------------------------


def test_a_mixed_batch_answers_as_the_item_by_item_path(
    uk: FakePartner, onward: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca")
    held = uk.report_envelope()
    held_two = uk.sign(next_version(held, title="Held two"))
    missed = uk.report_envelope()  # its version 1 never reached us, its version 2 did
    missed_two = uk.sign(next_version(missed, title="Missed two"))
    of_ca = ca.report_envelope()
    stored = receive_items(uk.partner, items_of(held, held_two, missed_two))
    assert outcomes(stored) == ["accepted"] * 3
    assert outcomes(receive_items(ca.partner, items_of(of_ca))) == ["accepted"]
    good = uk.report_envelope(rel_to=["fvey", "uk"])
    batch = items_of(
        good,
        held_two,  # duplicate of a stored release
        missed,  # older than the stored one
        uk.report_envelope(report_id=held["id"], ver=2, prev=signed_digest(held)),  # conflict
        uk.report_envelope(report_id=of_ca["id"]),  # another origin's report id
        tampered(uk.report_envelope(), title="Nothing to see"),  # bad_signature: a leak
        uk.report_envelope(rel_to=["ca", "uk"]),  # not_entitled: a leak
        uk.report_envelope(key=generate("uk", "report")),  # unknown_key
        uk.report_envelope(payload=chip_payload(category="no_such_category")),
        uk.report_envelope(payload=chip_payload(event_start="2026-09-02", event_end="2026-09-01")),
        uk.report_envelope(rel_to=["us"]),  # markings the report rules forbid
        uk.report_envelope(ver=2**40, prev=signed_digest(good)),  # version_gap
        uk.tombstone(uk.report_envelope()),  # a withdrawal of a report never received
        ca.report_envelope(),  # from ca, forwarded by uk without a countersignature
        good,  # the same item twice in one batch
        uk.tombstone(held_two),
        first_seq=4,
    )

    results = both_ways(uk, batch)

    assert outcomes(results) == [
        "accepted",
        "duplicate",
        "stale_version",
        "conflict",
        "conflict",
        "bad_signature",
        "not_entitled",
        "unknown_key",
        "bad_payload",
        "bad_payload",
        "bad_markings",
        "version_gap",
        "unknown_report",
        "relay_not_countersigned",
        "duplicate",
        "accepted",
    ]
    assert [r["seq"] for r in results] == list(range(4, 20))
    partner = uk.partner
    assert partner.suspected_leak
    # The unknown_key item (seq 11) is retryable: the cursor waits for it, the rest is ahead.
    assert (partner.received_seq, partner.received_ahead) == (10, list(range(12, 20)))
    assert Refusal.objects.filter(partner="uk").count() == 12
    assert sorted(Receipt.objects.values_list("envelope__digest", "from_partner")) == sorted(
        [
            (signed_digest(held), "uk"),
            (signed_digest(held_two), "uk"),
            (signed_digest(missed_two), "uk"),
            (signed_digest(of_ca), "ca"),
            (signed_digest(good), "uk"),
            (signed_digest(batch[-1]["envelope"]), "uk"),
        ]
    )


def test_a_copy_by_another_path_gets_its_receipt_once(
    uk: FakePartner, fresh_manifest_cache: Any
) -> None:
    ca = register_partner("ca", relay_origins=["uk"])
    env = uk.report_envelope()
    assert outcomes(receive_items(uk.partner, items_of(env))) == ["accepted"]
    relayed = ca.relay(env)

    results = both_ways(ca, items_of(relayed, relayed))

    assert outcomes(results) == ["duplicate", "duplicate"]
    receipts = Receipt.objects.filter(envelope__report_id=env["id"]).order_by("from_partner")
    assert [(r.from_partner, [hop["from"] for hop in r.hops]) for r in receipts] == [
        ("ca", ["ca"]),
        ("uk", []),
    ]


def test_an_empty_outcome_batch_writes_only_refusals(uk: FakePartner) -> None:
    bad = tampered(uk.report_envelope(), title="x")

    results = both_ways(uk, items_of(bad, bad))

    assert outcomes(results) == ["bad_signature", "bad_signature"]
    assert not Report.objects.exists()
    assert Refusal.objects.filter(code="bad_signature", leak_suspected=True).count() == 2


# --------------------------------------------------------------------------------------------
# Relaying onwards
# --------------------------------------------------------------------------------------------


def test_relayed_reports_are_owed_onwards_with_dense_sequence_numbers(
    fresh_manifest_cache: Any,
) -> None:
    ca = register_partner("ca")
    uk = register_partner("uk", relay_origins=["ca"])
    nz = register_partner("nz", relay_origins=["ca", "uk"])
    au = register_partner("au", relay_origins=["ca"])
    first = ca.report_envelope()
    assert outcomes(receive_items(ca.partner, items_of(first))) == ["accepted"]
    assert sorted(Delivery.objects.values_list("partner__code", "seq")) == [
        ("au", 1),
        ("nz", 1),
        ("uk", 1),
    ]
    envelopes = [
        uk.relay(ca.report_envelope()),
        uk.relay(ca.report_envelope(rel_to=["ca", "uk", "us"])),  # nobody onwards may have it
        uk.report_envelope(),  # uk's own: nz may have it relayed, au may not
        uk.relay(ca.report_envelope(rel_to=["ca", "nz", "uk", "us"])),  # nz only
        uk.relay(ca.report_envelope()),
    ]

    results = both_ways(uk, items_of(*envelopes))

    assert outcomes(results) == ["accepted"] * 5
    owed = {
        code: list(
            Delivery.objects.filter(partner__code=code)
            .order_by("seq")
            .values_list("seq", "envelope__digest")
        )
        for code in ("au", "nz", "uk", "ca")
    }
    digest = [signed_digest(env) for env in envelopes]
    assert owed["au"] == [(1, signed_digest(first)), (2, digest[0]), (3, digest[4])]
    assert owed["nz"] == [
        (1, signed_digest(first)),
        (2, digest[0]),
        (3, digest[2]),
        (4, digest[3]),
        (5, digest[4]),
    ]
    # Never back to the sender or to the origin.
    assert owed["uk"] == [(1, signed_digest(first))]
    assert owed["ca"] == []
    assert {p.code: p.next_seq for p in (au.partner, nz.partner, uk.partner, ca.partner)} == {
        "au": 4,
        "nz": 6,
        "uk": 2,
        "ca": 1,
    }


def test_delivery_is_asked_for_once_per_partner_after_the_commit(
    uk: FakePartner, onward: FakePartner, django_capture_on_commit_callbacks: Any
) -> None:
    from celery import current_app

    sent: list[tuple[str, list[Any]]] = []

    def send_task(name: str, args: list[Any], **options: Any) -> None:
        sent.append((name, args))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(current_app, "send_task", send_task)
        with django_capture_on_commit_callbacks(execute=True):
            receive_items(uk.partner, items_of(*(uk.report_envelope() for _ in range(3))))
    assert [args for name, args in sent if name == "federation.tasks.deliver"] == [["nz"]]


# --------------------------------------------------------------------------------------------
# Entities, hooks, queries
# --------------------------------------------------------------------------------------------


def test_entities_shared_by_reports_of_one_batch_are_created_once(uk: FakePartner) -> None:
    names = ["Jade Gate Logistics", "JADE GATE LOGISTICS", "Jade-Gate Logistics."]
    envelopes = [
        uk.report_envelope(
            payload=chip_payload(
                entities=[
                    {"kind": "organisation", "name": name, "country": "HK", "role": "subject"},
                    {"kind": "person", "name": f"Officer {n}", "country": "", "role": "officer"},
                ]
            )
        )
        for n, name in enumerate(names)
    ]

    results = both_ways(uk, items_of(*envelopes))

    assert outcomes(results) == ["accepted"] * 3
    key = normalise_name("Jade Gate Logistics")
    shared = Entity.objects.filter(kind="organisation", normalized_name=key, country="HK").get()
    assert shared.name == "Jade Gate Logistics"  # the first report's spelling
    # The intermediary of every chip payload is the same entity too.
    assert Entity.objects.filter(normalized_name=key).count() == 1
    assert ReportEntity.objects.filter(entity=shared).values("version").distinct().count() == 3
    assert set(ReportEntity.objects.filter(entity=shared).values_list("role", flat=True)) == {
        "subject",
        "intermediary",
    }
    assert Entity.objects.filter(kind="person").count() == 3


def test_version_hooks_run_once_per_batch_with_every_version_inside_the_transaction(
    uk: FakePartner, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[tuple[str, int, bool, str]]] = []

    def hook(versions: Sequence[ReportVersion]) -> None:
        seen.append(
            [
                (
                    str(version.report_id),
                    version.version,
                    connection.in_atomic_block,
                    version.report.origin,
                )
                for version in versions
            ]
        )

    monkeypatch.setattr(report_services, "VERSION_HOOKS", [*report_services.VERSION_HOOKS, hook])
    one = uk.report_envelope()
    two = uk.sign(next_version(one, title="Two"))
    other = uk.report_envelope()

    receive_items(uk.partner, items_of(one, two, other))

    assert seen == [
        [
            (one["id"], 1, True, "uk"),
            (one["id"], 2, True, "uk"),
            (other["id"], 1, True, "uk"),
        ]
    ]


def _blind_to(report_id: str, times: int) -> Any:
    """`_load_held` that does not see `report_id` the first `times` calls: as if a concurrent
    writer stored it after this batch looked (its insert then collides)."""
    load_held = inbox._load_held
    calls = {"n": 0}

    def load(report_ids: list[Any]) -> Any:
        held = load_held(report_ids)
        calls["n"] += 1
        if calls["n"] > times:
            return held
        return {key: state for key, state in held.items() if str(key) != report_id}

    return load


@pytest.mark.parametrize("collisions", [1, 2], ids=["decided-again", "item-by-item"])
def test_a_collision_with_a_concurrent_writer(
    uk: FakePartner, onward: FakePartner, monkeypatch: pytest.MonkeyPatch, collisions: int
) -> None:
    """The same item stored by a concurrent push while this batch was checked: the bulk insert
    collides and rolls back; the batch is decided again in bulk, and if that collides too, it
    is received item by item. Either way the item is a duplicate and nothing is written twice."""
    raced = uk.report_envelope()
    assert outcomes(receive_items(uk.partner, items_of(raced))) == ["accepted"]
    monkeypatch.setattr(inbox, "_load_held", _blind_to(raced["id"], collisions))
    each = inbox._receive_each
    fell_back: list[bool] = []

    def receive_each(*args: Any) -> Any:
        fell_back.append(True)
        return each(*args)

    monkeypatch.setattr(inbox, "_receive_each", receive_each)
    fresh = uk.report_envelope()
    bad = tampered(uk.report_envelope(), title="x")

    results = receive_items(uk.partner, items_of(fresh, raced, bad, first_seq=2))

    assert outcomes(results) == ["accepted", "duplicate", "bad_signature"]
    assert fell_back == ([True] if collisions == 2 else [])
    assert Envelope.objects.filter(report_id=fresh["id"]).count() == 1
    assert ReportVersion.objects.filter(report_id=raced["id"]).count() == 1
    assert Refusal.objects.filter(code="bad_signature").count() == 1
    assert Delivery.objects.count() == 2
    assert uk.partner.received_seq == 4


@pytest.mark.django_db(transaction=True)
def test_two_overlapping_batches_racing_store_each_report_once(uk: FakePartner) -> None:
    """Real commits and row locks: the same reports pushed in two batches at once, in opposite
    orders, with relations the two batches share (entities): no deadlock, each stored once."""
    envelopes = [uk.report_envelope(payload=_varied_payload(n)) for n in range(20)]
    bodies = [items_of(*envelopes), items_of(*reversed(envelopes))]
    start = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)

    def push(n: int) -> None:
        try:
            start.wait(timeout=10)
            answers[n] = receive_items(Partner.objects.get(code="uk"), bodies[n], advance=False)
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    by_id: dict[str, list[str]] = {}
    for body, answer in zip(bodies, answers, strict=True):
        assert answer is not None
        for item, result in zip(body, answer, strict=True):
            by_id.setdefault(item["envelope"]["id"], []).append(result["result"])
    assert {tuple(sorted(r)) for r in by_id.values()} == {("accepted", "duplicate")}
    assert Envelope.objects.count() == ReportVersion.objects.count() == Report.objects.count()
    assert Report.objects.count() == 20
    assert Receipt.objects.count() == 20


def test_a_batch_costs_a_fixed_number_of_queries(uk: FakePartner, onward: FakePartner) -> None:
    sender = uk.partner
    receive_items(sender, items_of(uk.report_envelope()))  # warm the caches

    def queries(count: int, first_seq: int) -> list[str]:
        # Names of each call's own, so both calls create new entities whatever rows an earlier
        # test left behind (an existing name skips a write and would change the count).
        items = items_of(
            *(
                uk.report_envelope(payload=_varied_payload(n, tag=f"q{first_seq}"))
                for n in range(count)
            ),
            first_seq=first_seq,
        )
        with CaptureQueriesContext(connection) as captured:
            results = receive_items(sender, items)
        assert outcomes(results) == ["accepted"] * count
        return [q["sql"][:60] for q in captured.captured_queries]

    # However many items: about twenty (savepoints and the cursor included). On a mismatch
    # the message lists the statements one batch ran more often than the other.
    small, large = queries(40, 2), queries(80, 42)
    only = (Counter(small) - Counter(large)) + (Counter(large) - Counter(small))
    assert len(small) == len(large) <= 24, only


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _varied_payload(n: int, tag: str = "") -> dict[str, Any]:
    payload = chip_payload()
    details = dict(payload["details"])
    details["consignee"] = {
        "name": f"Consignee {tag}{n % 37} Trading Pte Ltd",
        "address": f"{n % 41} Changi South Lane",
        "country": "SG",
    }
    payload["details"] = details
    payload["entities"] = [
        {
            "kind": "person",
            "name": f"Invented Officer {tag}{n % 53}",
            "country": "SG",
            "role": "officer",
        }
    ]
    payload["title"] = f"Report {n}"
    return payload
