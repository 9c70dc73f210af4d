"""Grouping reports into cases on the record linkage: relays, withdrawals, may_link, reasons."""

from __future__ import annotations

from typing import Any

from riskscore.grouping import collapse_copies, group_reports, reports_by_case


def report(rid: str, **details: Any) -> dict[str, Any]:
    top = {
        k: details.pop(k)
        for k in list(details)
        if k in ("origin", "version", "status", "relayed_by", "markings", "category", "entities")
    }
    return {
        "id": rid,
        "version": top.get("version", 1),
        "origin": top.get("origin", "us"),
        "category": top.get("category", "chip_diversion"),
        "status": top.get("status", "published"),
        "relayed_by": top.get("relayed_by", []),
        "markings": top.get("markings", {"classification": "RESTRICTED"}),
        "entities": top.get("entities", []),
        "details": details,
    }


def items(*serials: str) -> list[dict[str, Any]]:
    return [{"model": "H100 SXM", "quantity": 8, "serials": list(serials)}]


def party(name: str, country: str) -> dict[str, Any]:
    return {"name": name, "country": country, "address": None}


def case_sets(grouping: Any) -> list[set[str]]:
    return sorted((set(c.report_ids) for c in grouping.cases), key=lambda s: sorted(s))


def test_same_serial_links_reports_and_says_why() -> None:
    g = group_reports(
        [
            report("a", items=items("SN-0001-X")),
            report("b", items=items("sn0001x")),  # same serial, other formatting
            report("c", items=items("SN-9999")),
        ]
    )
    assert case_sets(g) == [{"a", "b"}, {"c"}]
    link = g.cases[g.case_of["a"]].links[0]
    assert (link.a, link.b, link.reason, link.detail) == ("a", "b", "serial", "SN0001X")
    assert link.weight >= 14
    assert link.evidence[0].field == "serial"


def test_consignee_name_and_country_link_but_other_countries_do_not() -> None:
    g = group_reports(
        [
            report("a", consignee=party("Lumtek Logistics Pte Ltd", "SG")),
            report("b", consignee=party("LUMTEK LOGISTICS PTE. LTD.", "SG")),
            report("c", consignee=party("Lumtek Logistics Pte Ltd", "MY")),
        ]
    )
    assert case_sets(g) == [{"a", "b"}, {"c"}]
    assert g.cases[g.case_of["a"]].links[0].reason == "consignee"


def test_shipment_reference_and_military_organisation_link() -> None:
    g = group_reports(
        [
            report("a", shipment_ref="SR-2026/0042"),
            report("b", shipment_ref="sr 2026 0042"),
            report("m1", category="military_ai", organisation=party("Dravon Institute", "CN")),
            report("m2", category="military_ai", organisation=party("Dravon Institute", "CN")),
        ]
    )
    assert case_sets(g) == [{"a", "b"}, {"m1", "m2"}]
    assert g.cases[g.case_of["a"]].links[0].reason == "shipment_ref"
    assert g.cases[g.case_of["m1"]].links[0].reason == "organisation"


def test_fuzzy_entity_names_link_but_shared_forwarders_do_not() -> None:
    forwarder = [{"name": "Kesh Freight Pte Ltd", "country": "SG", "role": "freight_forwarder"}]
    g = group_reports(
        [
            report(
                "a",
                suspected_end_user=party("Zhenbao Quantum Technology Co Ltd", "CN"),
                intermediaries=forwarder,
            ),
            report(
                "b",
                suspected_end_user=party("Quantum Zhenbao Technology", "CN"),
                intermediaries=forwarder,
            ),
            report("c", suspected_end_user=party("Orvak Data", "MY"), intermediaries=forwarder),
        ]
    )
    assert case_sets(g) == [{"a", "b"}, {"c"}]
    link = g.cases[g.case_of["a"]].links[0]
    # no consignee named: the suspected end user is the party the case is about
    assert link.reason == "consignee"
    assert link.detail == "Zhenbao Quantum Technology Co Ltd ~ Quantum Zhenbao Technology"
    assert 0.5 <= link.score <= 1.0


def test_relayed_copies_are_one_piece_of_evidence() -> None:
    original = report("a", items=items("SN-0001"), origin="us")
    copies = [
        {**original, "relayed_by": ["gb"]},
        {**original, "relayed_by": ["ca", "au"]},
        original,
    ]
    g = group_reports([*copies, report("b", items=items("SN-0001"), origin="jp")])
    (case,) = g.cases
    assert case.report_ids == ("a", "b")
    assert case.relayed_by["a"] == ("au", "ca", "gb")
    assert case.reports[0]["relayed_by"] == []  # the origin's own copy is the evidence
    assert len(reports_by_case(g, [*copies])[0]) == 3  # every copy is kept for features


def test_latest_version_wins_and_withdrawn_reports_are_ignored() -> None:
    kept, _, withdrawn = collapse_copies(
        [
            report("a", version=1, items=items("SN-0001")),
            report("a", version=2, items=items("SN-0002")),
            report("w", version=1, items=items("SN-0002")),
            report("w", version=2, status="withdrawn", items=items("SN-0002")),
        ]
    )
    assert [r["details"]["items"][0]["serials"] for r in kept] == [["SN-0002"]]
    assert withdrawn == ["w"]
    g = group_reports(
        [
            report("a", items=items("SN-0002")),
            report("w", status="withdrawn", items=items("SN-0002")),
        ]
    )
    assert case_sets(g) == [{"a"}]
    assert g.ignored == ("w",)


def test_reports_of_different_classifications_are_never_one_case() -> None:
    g = group_reports(
        [
            report("a", items=items("SN-0007")),
            report("b", items=items("SN-0007"), markings={"classification": "SECRET"}),
            report("c", items=items("SN-0007")),
        ]
    )
    assert case_sets(g) == [{"a", "c"}, {"b"}]


def test_may_link_refusals_are_reported() -> None:
    def not_b(x: dict[str, Any], y: dict[str, Any]) -> bool:
        return "b" not in (x["id"], y["id"])

    g = group_reports(
        [
            report("a", items=items("SN-0007")),
            report("b", items=items("SN-0007")),
            report("c", items=items("SN-0007")),
        ],
        may_link=not_b,  # type: ignore[arg-type]
    )
    assert case_sets(g) == [{"a", "c"}, {"b"}]
    assert {(link.a, link.b) for link in g.refused} >= {("a", "b")}


def test_may_link_is_respected_transitively() -> None:
    forbidden = {frozenset({"a", "c"})}

    def allowed(x: dict[str, Any], y: dict[str, Any]) -> bool:
        return frozenset({x["id"], y["id"]}) not in forbidden

    g = group_reports(
        [
            report("a", items=items("SN-000A"), shipment_ref="REF-1"),
            report("b", items=items("SN-000A")),
            report("c", shipment_ref="REF-1", consignee=party("Orvak Data", "MY")),
        ],
        may_link=allowed,  # type: ignore[arg-type]
    )
    for case in g.cases:
        assert not {"a", "c"} <= set(case.report_ids)
    assert len(g.refused) == 1


def test_grouping_is_deterministic_whatever_the_input_order() -> None:
    reports = [
        report("c", items=items("SN-0003")),
        report("a", items=items("SN-0003")),
        report("b", consignee=party("Orvak Data", "MY")),
    ]
    one = group_reports(reports)
    two = group_reports(list(reversed(reports)))
    assert [c.case_id for c in one.cases] == [c.case_id for c in two.cases]
    assert [c.report_ids for c in one.cases] == [("a", "c"), ("b",)]
