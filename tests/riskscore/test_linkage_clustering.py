"""Clustering: hard identifiers, negative evidence, no chaining, constraints, levels, keys."""

from __future__ import annotations

from riskscore.linkage import blocking_keys, cluster_reports

from .linkage_helpers import groups, shipment, together
from .test_linkage_names import common_stem_stats


def test_serial_and_shipment_reference_link_without_names() -> None:
    result = cluster_reports(
        [
            shipment("a", None, serials=("SN-0001-X",)),
            shipment("b", None, serials=("sn0001x",), day=None),
            shipment("c", None, ref="AWB-123456"),
            shipment("d", None, ref="awb 123456", day=None),
            shipment("e", None, serials=("SN-9999",)),
        ]
    )
    assert groups(result) == [{"a", "b"}, {"c", "d"}, {"e"}]
    (serial_link,) = next(c for c in result.clusters if "a" in c.report_ids).links
    assert serial_link.evidence[0].field == "serial"
    assert serial_link.evidence[0].outcome == "agree"


def test_disagreement_is_evidence_against() -> None:
    result = cluster_reports(
        [
            shipment("a", "Lumtek Logistics Pte Ltd", day=None),
            shipment("b", "LUMTEK LOGISTICS PTE. LTD.", day=None),
            shipment("c", "Lumtek Logistics Pte Ltd", country="MY", day=None),  # other country
            shipment("d", "Carvossa Dyne Ltd", day="2026-09-01"),
            shipment("e", "Carvossa Dyne Ltd", day="2024-01-01"),  # years apart
            shipment("f", "Peltrine Marsk Ltd", serials=("SN-0001",), day=None),
            shipment("g", "Peltrine Marsk Ltd", serials=("SN-0002",), day=None),  # other serials
        ]
    )
    assert together(result, "a", "b")
    for x, y in (("a", "c"), ("d", "e"), ("f", "g")):
        assert not together(result, x, y), (x, y)


def test_a_generic_name_shared_with_one_member_does_not_chain_a_case() -> None:
    # a and b: one shipment (same reference); c only shares b's ordinary name and differs
    # from a in serials, date and quantity: it must not join through b.
    result = cluster_reports(
        [
            shipment("a", "Orient Trading Ltd", ref="AWB-1", serials=("SN-A1",), quantity=8),
            shipment("b", "Orient Trading Ltd", ref="AWB-1"),
            shipment("c", "Orient Trading Ltd", serials=("SN-C9",), quantity=900),
        ],
        stats=common_stem_stats(),
    )
    assert groups(result) == [{"a", "b"}, {"c"}]


def test_a_shared_forwarder_or_declared_end_user_never_links_alone() -> None:
    consignees = ["Harlow Dyne", "Mirecki Pan", "Tovald Group", "Quenby Arc", "Sarnok Ply",
                  "Velmora Kit", "Brisk Otter", "Coldane Rue", "Pyrelle Oak", "Ushant Vey",
                  "Gorvik Lam", "Neddle Fen"]  # fmt: skip
    reports = [
        shipment(
            f"r{i}",
            f"{consignees[i]} Ltd",
            country=["SG", "MY", "AE", "HK"][i % 4],
            forwarder="Kesh Freight Pte Ltd",
            declared="Norvale Research Institute",
            day="2026-09-01",
            model="H100",
        )
        for i in range(12)
    ]
    result = cluster_reports(reports)
    assert len(result.clusters) == 12
    alone = cluster_reports(
        [
            shipment("x", None, declared="Norvale Research Institute", day=None),
            shipment("y", None, declared="Norvale Research Institute", day=None),
        ]
    )
    assert not together(alone, "x", "y")


def test_must_link_and_cannot_link_are_honoured() -> None:
    reports = [
        shipment("a", None, serials=("SN-7",)),
        shipment("b", None, serials=("SN-7",)),
        shipment("c", "Unrelated Wharf Ltd", country="JP", day="2025-01-01"),
        shipment("s", None, serials=("SN-7",), level="SECRET"),
    ]
    result = cluster_reports(reports, must_link=[("a", "c"), ("a", "s")], cannot_link=[("a", "b")])
    assert groups(result) == [{"a", "c"}, {"b"}, {"s"}]
    merged = next(c for c in result.clusters if "c" in c.report_ids)
    assert merged.links[0].evidence[0].field == "analyst"


def test_one_classification_level_per_cluster() -> None:
    result = cluster_reports(
        [
            shipment("a", None, ref="AWB-9"),
            shipment("b", None, ref="AWB-9", level="SECRET"),
            shipment("c", None, ref="AWB-9", level="SECRET"),
        ]
    )
    assert groups(result) == [{"a"}, {"b", "c"}]


def test_previous_keys_stay_stable_on_merge_and_split() -> None:
    reports = [
        shipment("a", None, ref="AWB-1"),
        shipment("b", None, ref="AWB-1"),
        shipment("c", None, ref="AWB-1"),
        shipment("d", None, ref="AWB-2"),
        shipment("e", None, ref="AWB-2"),
    ]
    # case K1 held a, b; case K2 held c: they merge, the bigger keeps its key
    merged = cluster_reports(reports, previous={"a": "K1", "b": "K1", "c": "K2"})
    big = next(c for c in merged.clusters if "a" in c.report_ids)
    assert (big.previous_case, big.absorbed) == ("K1", ("K2",))
    # case K3 held a, b, c, d, e (e.g. an old chained case): it splits, the largest part keeps
    split = cluster_reports(reports, previous=dict.fromkeys("abcde", "K3"))
    keys = {c.report_ids: c.previous_case for c in split.clusters}
    assert keys == {("a", "b", "c"): "K3", ("d", "e"): None}


def test_members_of_a_previous_case_stay_together_on_review_band_evidence() -> None:
    reports = [
        shipment("a", "Golden Bridge Logistics Co., Ltd.", day=None),
        shipment("b", "Golden Bridge Industrial Co., Ltd.", day=None),
    ]
    fresh = cluster_reports(reports)
    kept = cluster_reports(reports, previous={"a": "K", "b": "K"})
    assert not together(fresh, "a", "b")
    assert [link.a for link in fresh.review] == ["a"]
    assert together(kept, "a", "b")


def test_explanations_carry_names_as_written() -> None:
    result = cluster_reports(
        [
            shipment("a", "Zhenbao Quantum Logistics Co., Ltd.", address="12 Harbourfront Ave"),
            shipment("b", "ZHENBAO QUANTUM LOGISTICS LTD", address="12 Harbourfront Avenue"),
        ]
    )
    (cluster,) = result.clusters
    evidence = {e.field: e for e in cluster.links[0].evidence}
    assert (evidence["name"].a, evidence["name"].b) == (
        "Zhenbao Quantum Logistics Co., Ltd.",
        "ZHENBAO QUANTUM LOGISTICS LTD",
    )
    assert evidence["address"].a == "12 Harbourfront Ave"
    assert evidence["event_date"].outcome == "agree"
    assert sum(e.weight for e in evidence.values()) == cluster.links[0].weight


def test_relayed_copies_are_one_record_and_withdrawn_reports_are_ignored() -> None:
    original = shipment("a", None, ref="AWB-5")
    result = cluster_reports(
        [
            original,
            {**original, "relayed_by": ["gb"]},
            shipment("w", None, ref="AWB-5", status="withdrawn"),
        ]
    )
    assert groups(result) == [{"a"}]
    assert result.ignored == ("w",)


def test_blocking_keys_leave_out_generic_words_and_legal_forms() -> None:
    keys = blocking_keys(shipment("a", "Apex Technology Trading Co., Ltd.", ref="AWB-7"))
    assert "r:AWB7" in keys
    assert not any(k.startswith("t:") and ("technolog" in k or "trad" in k) for k in keys)
    assert any(k.startswith("t:apeks") for k in keys)
