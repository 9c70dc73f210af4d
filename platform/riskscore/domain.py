"""The one door from ``riskscore`` to the sibling ``exportcontrol`` package.

``exportcontrol`` (chip catalogue, ECCN 3A090 classification, country risk) is imported lazily,
on first use, through :func:`importlib.import_module` (``exportcontrol/__init__`` re-exports a
function named ``classify`` that shadows the submodule attribute). If it cannot be imported the
adapter falls back to NEUTRAL behaviour, which is never "zero risk":

* :func:`chip_facts` returns ``None`` (model unknown) and the item features become *missing*;
* :func:`destination_risk` / :func:`transit_risk` return ``None`` and the geography features
  become *missing*;

so the engine imputes each such feature's neutral prior and the explanation lists it as
"missing". The same happens for a model or country code the package does not know.
:func:`available` says which mode is active (the offline output records it).
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

__all__ = [
    "TRANSSHIPMENT_HUBS",
    "ChipFacts",
    "available",
    "chip_facts",
    "destination_risk",
    "is_prc_accelerator",
    "is_transshipment_hub",
    "transit_risk",
]

#: Known AI-chip transshipment hubs (reference 3.7 feature 7 and 1.7: SG, MY, TH, AE, HK named;
#: VN and TW are not evidenced there and are left out). A route feature only, not a risk value.
TRANSSHIPMENT_HUBS: frozenset[str] = frozenset({"SG", "MY", "TH", "AE", "HK"})

# PRC-made 3A090-class accelerators named in BIS's May 2025 GP10 guidance (Ascend 910B/C/D);
# matched on the model name so the flag works without the catalogue too.
_PRC_ACCELERATOR = re.compile(r"\bascend\b|\b910[bcd]\b", re.IGNORECASE)


@dataclass(frozen=True)
class ChipFacts:
    """What the score needs to know about one accelerator model."""

    model: str
    eccn: str | None  # "3A090.a", "3A090.b" or None (not 3A090 / indeterminate)
    tpp: float
    h100_equivalents: float
    prc_made: bool


@dataclass(frozen=True)
class _Backend:
    catalogue: ModuleType
    classify: ModuleType
    countries: ModuleType


@cache
def _backend() -> _Backend | None:
    try:
        return _Backend(
            catalogue=importlib.import_module("exportcontrol.catalogue"),
            classify=importlib.import_module("exportcontrol.classify"),
            countries=importlib.import_module("exportcontrol.countries"),
        )
    except ImportError:
        return None


def available() -> bool:
    """True when ``exportcontrol`` is importable (otherwise the neutral fallback is in use)."""
    return _backend() is not None


def is_prc_accelerator(model: str) -> bool:
    return bool(_PRC_ACCELERATOR.search(model))


@cache
def chip_facts(model: str) -> ChipFacts | None:
    """Classification of ``model`` under the current rule, or None if unknown / no catalogue."""
    backend = _backend()
    if backend is None or not model.strip():
        return None
    chip: Any = backend.catalogue.lookup(model)
    if chip is None:
        return None
    try:
        verdict: Any = backend.classify.classify(chip)
    except ValueError:
        return None
    manufacturer = str(getattr(chip, "manufacturer", ""))
    return ChipFacts(
        model=str(getattr(chip, "name", model)),
        eccn=verdict.eccn,
        tpp=float(verdict.tpp),
        h100_equivalents=float(verdict.h100_equivalents),
        prc_made=is_prc_accelerator(model) or manufacturer.casefold() == "huawei",
    )


def _country_value(function_name: str, code: str | None) -> float | None:
    backend = _backend()
    if backend is None or not code:
        return None
    try:
        value = float(getattr(backend.countries, function_name)(code.strip().upper()))
    except (ValueError, KeyError, LookupError):
        return None  # unknown or invalid code: treated as missing, not as safe
    if not math.isfinite(value):
        return None
    return min(1.0, max(0.0, value))


@cache
def destination_risk(code: str | None) -> float | None:
    """Risk in [0, 1] of ``code`` (ISO alpha-2) as final destination; None = unknown."""
    return _country_value("destination_risk", code)


@cache
def transit_risk(code: str | None) -> float | None:
    """Risk in [0, 1] of routing through ``code``; None = unknown."""
    return _country_value("transit_risk", code)


def is_transshipment_hub(code: str | None) -> bool:
    return bool(code) and str(code).strip().upper() in TRANSSHIPMENT_HUBS
