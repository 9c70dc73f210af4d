"""score_jsonl: JSON lines in, ranked cases with explanations out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from riskscore.features import DEFAULT_CONFIG
from riskscore.offline import OfflineInputError, score_jsonl

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _report(rid: str, consignee: str, flags: list[str], serial: str, **extra: Any) -> dict:
    return {
        "id": rid,
        "version": 1,
        "origin": extra.get("origin", "us"),
        "title": "t",
        "summary": "",
        "category": "chip_diversion",
        "status": "published",
        "event_start": "2026-10-01",
        "event_end": None,
        "reported_at": "2026-10-02T00:00:00Z",
        "source_reliability": "B",
        "info_credibility": 2,
        "markings": {"classification": "RESTRICTED", "rel_to": ["fvey"], "orcon": False},
        "relayed_by": extra.get("relayed_by", []),
        "details": {
            "items": [{"model": "H100 SXM", "quantity": 64, "serials": [serial]}],
            "consignee": {"name": consignee, "address": None, "country": "SG"},
            "route": ["US", "SG"],
            "red_flags": flags,
        },
        "entities": [],
    }


def _write(path: Path, reports: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in reports) + "\n", encoding="utf-8")


def test_cases_are_written_ranked_with_contributions(tmp_path: Path) -> None:
    listed = _report("a", "Dravon Systems Co Ltd", [], "SN-AAAA01")
    relay = {**listed, "relayed_by": ["gb"]}
    plain = _report("b", "Orvak Data Pte Ltd", [], "SN-BBBB02")
    corroborating = _report("c", "Orvak Data Pte Ltd", ["cash_payment"], "SN-BBBB02", origin="jp")
    _write(tmp_path / "in.jsonl", [listed, relay, plain, corroborating])
    (tmp_path / "list.json").write_text(
        json.dumps({"results": [{"id": "EL-9", "name": "Dravon Systems Company Limited"}]}),
        encoding="utf-8",
    )
    summary = score_jsonl(
        tmp_path / "in.jsonl", tmp_path / "out" / "ranked.jsonl", tmp_path / "list.json", now=NOW
    )
    assert (summary.reports, summary.cases, summary.config_version) == (4, 2, "2026-12-default")
    lines = [json.loads(x) for x in (tmp_path / "out" / "ranked.jsonl").read_text().splitlines()]
    assert [x["rank"] for x in lines] == [1, 2]
    assert lines[0]["report_ids"] == ["a"]
    assert lines[0]["relayed_by"] == {"a": ["gb"]}
    assert lines[0]["score"] >= lines[1]["score"]
    assert lines[0]["contributions"][0]["feature"] in ("screening_match", "screening_exact")
    assert lines[1]["report_ids"] == ["b", "c"]
    assert lines[1]["links"][0]["reason"] == "serial"
    for line in lines:
        assert len(line["contributions"]) == len(DEFAULT_CONFIG.feature_names)  # every one
        for c in line["contributions"]:
            assert set(c) == {
                "feature",
                "group",
                "value",
                "imputed_value",
                "points",
                "missing",
                "logit",
            }
            assert (c["value"] is None) == c["missing"]
        # the shown numbers add up exactly (integer thousandths), groups too
        total = round(line["baseline"] * 1000) + sum(
            round(c["points"] * 1000) for c in line["contributions"]
        )
        assert total == round(line["score"] * 1000)
        assert sum(round(g["points"] * 1000) for g in line["groups"]) == total - round(
            line["baseline"] * 1000
        )
        assert "listed_officer_link" in line["missing_features"]


def test_without_a_screening_list_screening_features_are_missing(tmp_path: Path) -> None:
    _write(tmp_path / "in.jsonl", [_report("a", "Orvak Data", [], "SN-CCCC03")])
    score_jsonl(tmp_path / "in.jsonl", tmp_path / "out.jsonl", now=NOW)
    line = json.loads((tmp_path / "out.jsonl").read_text())
    assert {"screening_match", "screening_exact"} <= set(line["missing_features"])


def test_a_bad_line_is_reported_and_no_output_is_left(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"id": "a"}\n\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(OfflineInputError) as caught:
        score_jsonl(tmp_path / "in.jsonl", tmp_path / "out.jsonl", now=NOW)
    assert caught.value.line == 3
    (tmp_path / "in.jsonl").write_text('{"id": "a"}\n{"id": \n', encoding="utf-8")
    with pytest.raises(OfflineInputError, match="line 2"):
        score_jsonl(tmp_path / "in.jsonl", tmp_path / "out.jsonl", now=NOW)
    assert not (tmp_path / "out.jsonl").exists()
