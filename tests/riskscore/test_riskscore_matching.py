"""Screening-name and address matching: normalisation, aliases, order, scripts, hashing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskscore.matching import (
    LEGAL_FORMS,
    NameMatcher,
    ScreeningIndex,
    name_key,
    name_tokens,
    normalize_name,
    tokenize_names,
    vectorize,
)

ROOT = Path(__file__).resolve().parents[2]

# invented parties only
ENTRIES: list[dict[str, Any]] = [
    {
        "id": "EL-1",
        "name": "Tekhnosfera Trading LLC",
        "alt_names": ["Vorlan Kesh Import"],
        "addresses": [{"address": "12 Jalan Ampang", "city": "Kuala Lumpur", "country": "MY"}],
        "source": "Entity List (EL) - synthetic",
    },
    {
        "id": "EL-2",
        "name": "Koral Vantek Electronics Co., Ltd.",
        "addresses": [{"address": "Flat 5, 88 Nathan Road", "city": "Kowloon", "country": "HK"}],
    },
    {"id": "SDN-3", "name": "Zhenbao Quantum Holdings Pte Ltd"},
    {"id": "SDN-4", "name": "Müller Drosselweg Maschinenbau GmbH"},
    {"id": "SDN-5", "name": "Aleksandr Dmitriyevich Petrovsky"},
]
for i in range(200):  # background noise so IDF and candidate generation are exercised
    ENTRIES.append({"id": f"bg-{i}", "name": f"Sample Party {i:03d} Trading Ltd"})


@pytest.fixture(scope="module")
def index() -> ScreeningIndex:
    return ScreeningIndex.build(ENTRIES)


def test_normalisation_strips_case_diacritics_script_and_punctuation() -> None:
    assert normalize_name("MÜLLER-Drosselweg  GmbH & Co. KG") == normalize_name(
        "muller drosselweg gmbh and co kg"
    )
    assert normalize_name("Ооо Техносфера") == normalize_name("OOO Tekhnosfera")
    assert normalize_name("Dmitriy") == normalize_name("Dmitry") == normalize_name("Dmitrii")
    assert normalize_name("Ka\u200bra") == normalize_name("Kara")  # zero-width space
    assert normalize_name("Ｔｏｋｙｏ") == normalize_name("Tokyo")  # full-width forms


def test_legal_forms_are_soft_tokens_not_removed() -> None:
    weights = dict(name_tokens("Zhenbao Quantum Holdings Pte Ltd"))
    assert weights[normalize_name("Zhenbao")] == 1.0
    assert weights[normalize_name("Pte")] < 1.0
    assert weights[normalize_name("Holdings")] < 1.0
    assert {normalize_name(w) for w in ("LLC", "Sdn", "Bhd", "FZE", "OOO", "S.A.", "B.V.")} <= (
        LEGAL_FORMS
    )
    assert name_key("Quantum Zhenbao Limited") == name_key("ZHENBAO QUANTUM PTE. LTD.")
    assert name_key("Trading Co Ltd") != ""  # a name of legal words only keeps its tokens


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Tekhnosfera Trading LLC", "EL-1"),  # exact
        ("Vorlan Kesh Import", "EL-1"),  # alias -> its entry
        ("Vantek Koral Electronics Limited", "EL-2"),  # word order + legal form
        ("Quantum Zhenbao", "SDN-3"),  # legal forms dropped, order swapped
        ("Muller Drosselweg Maschinenbau", "SDN-4"),  # diacritics
        ("ООО Техносфера Трейдинг", "EL-1"),  # Cyrillic transliteration
        ("Alexander Dmitrievich Petrovskiy", "SDN-5"),  # romanisation variants
        ("Koral V\u0430ntek Electronics", "EL-2"),  # a Cyrillic homoglyph inside a Latin name
    ],
)
def test_variants_find_the_listed_entry(index: ScreeningIndex, query: str, expected: str) -> None:
    result = index.match_names([query])
    assert result.entry_ids[0] == expected
    assert result.scores[0] >= 0.75


def test_unrelated_names_score_low(index: ScreeningIndex) -> None:
    result = index.match_names(["Bristow Meadow Bakery", "Tekhnika Foods", ""])
    assert result.scores[0] < 0.4
    assert result.scores[1] < 0.6
    assert result.entry_ids[2] is None
    assert result.entry[2] == -1
    assert result.scores[2] == 0.0


def test_batch_results_align_with_queries(index: ScreeningIndex) -> None:
    queries = ["Quantum Zhenbao", "nothing like it", "Vorlan Kesh Import"] * 50
    result = index.match_names(queries)
    assert result.entry_ids[:3] == ("SDN-3", result.entry_ids[1], "EL-1")
    assert result.matched[2] == "Vorlan Kesh Import"
    assert result.entry_ids[3:6] == result.entry_ids[:3]


def test_addresses_match_across_formatting_but_not_across_countries(
    index: ScreeningIndex,
) -> None:
    result = index.match_addresses(
        ["88 Nathan Rd, Flat 5, Kowloon", "12 Jalan Ampang, Kuala Lumpur", "12 Jalan Ampang"],
        ["HK", "MY", "SG"],
    )
    assert result.entry_ids[0] == "EL-2"
    assert result.scores[0] > 0.8
    assert result.entry_ids[1] == "EL-1"
    assert result.scores[1] > 0.9
    assert result.entry_ids[2] is None  # same street, different country


def test_vectors_are_l2_normalised_and_hashing_is_stable() -> None:
    vectors = vectorize(tokenize_names(["Koral Vantek Electronics", "Koral Vantek Electronics"]))
    norms = np.sqrt(
        np.bincount(
            np.repeat(np.arange(2), np.diff(vectors.indptr)),
            weights=vectors.data.astype(float) ** 2,
        )
    )
    np.testing.assert_allclose(norms, 1.0, rtol=1e-6)
    first, second = vectors.row(0), vectors.row(1)
    assert first[0].tolist() == second[0].tolist()
    assert np.all(first[0] < 2**18)


def test_hash_buckets_do_not_depend_on_python_hash_seed() -> None:
    code = (
        "import json; from riskscore.matching import vectorize, tokenize_names;"
        "print(json.dumps(vectorize(tokenize_names(['Zhenbao Quantum'])).indices.tolist()))"
    )
    outputs = set()
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT / "platform")}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(out.stdout.strip())
    assert len(outputs) == 1
    assert (
        json.loads(outputs.pop()) == vectorize(tokenize_names(["Zhenbao Quantum"])).indices.tolist()
    )


def test_self_join_never_returns_the_row_itself() -> None:
    names = ["Lumtek Logistics Pte Ltd", "Lumtek Logistic Pte Ltd", "Orvak Data Sdn Bhd"]
    matcher = NameMatcher.build(tokenize_names(names))
    rows, scores = matcher.search(tokenize_names(names), top_m=2, exclude_self=True)
    assert rows[0, 0] == 1
    assert rows[1, 0] == 0
    assert all(rows[i, j] != i for i in range(3) for j in range(2))
    assert scores[0, 0] > 0.7
