"""The ECCN 3A090 verdict of a chip row as the analyst fills it in: from the catalogue, or,
for a chip the catalogue lacks, from the specs entered in the form itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exportcontrol.catalogue import lookup
from exportcontrol.classify import classify, classify_specs

from .layout import Layout

SPEC_BITS = (4, 8, 16, 32)


def _specs_verdict(model: str, specs: Mapping[str, str]) -> dict[str, Any]:
    """A chip the catalogue lacks, classified from the specs the analyst entered in the form."""
    rates: dict[int, float] = {}
    error = ""
    try:
        for bits in SPEC_BITS:
            text = specs.get(f"tops{bits}", "").replace(",", "").strip()
            if text:
                rates[bits] = float(text)
        die_text = specs.get("die", "").replace(",", "").strip()
        die = float(die_text) if die_text else None
        if rates:
            return {
                "model": model,
                "known": True,
                "from_specs": True,
                "verdict": classify_specs(rates, die, specs.get("dc", "on") == "on"),
            }
    except ValueError as exc:
        error = str(exc) if rates else "Enter the figures as numbers, e.g. 989 or 1,979"
    return {"model": model, "known": False, "error": error, "specs": specs}


def chip_verdict(
    model: str, quantity: str, specs: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    if not model.strip():
        return None
    chip = lookup(model)
    if chip is None:
        found = _specs_verdict(model, specs or {})
        if not found["known"]:
            return found
        verdict = found["verdict"]
    else:
        verdict = classify(chip)
    count = int(quantity) if quantity.strip().isdigit() else None
    return {
        "model": model,
        "known": True,
        "chip": chip,
        "from_specs": chip is None,
        "verdict": verdict,
        "quantity": count,
        "total_tpp": verdict.tpp * count if count else None,
        "h100_total": round(verdict.h100_equivalents * count, 1) if count else None,
    }


def verdicts(placed: Layout) -> dict[str, Any]:
    """Verdicts for the chip rows already filled in, so they show without JavaScript."""
    found: dict[str, Any] = {}
    for section in placed.details:
        for repeat in section.repeats:
            if not repeat.chip_rows:
                continue
            for row in repeat.rows:
                found[row.prefix] = chip_verdict(row.fields[0].value, row.fields[1].value)
    return found
