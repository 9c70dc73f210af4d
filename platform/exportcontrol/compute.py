"""Training-compute thresholds for "military AI development" reports.

Status as recorded in the project's reference (``shared/reference/export-controls-and-scoring.md``
section 1.5):

* **EU AI Act Art. 51(2)**: cumulative training compute *greater than* 10^25 FLOP presumes
  high-impact capabilities (GPAI model with systemic risk); in force for GPAI since 2 Aug 2025.
* **10^26 operations**: the former BIS ECCN 4E091 threshold (AI Diffusion IFR, Jan 2025;
  rescinded/unenforced from May 2025, status of 4E091 unclear) and the EO 14110 s.4.2 reporting
  threshold (EO revoked 20 Jan 2025). Both rescinded: historical markers only.

A value exactly equal to a threshold is *not* above it (both texts say "greater than").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

__all__ = [
    "BANDS",
    "EU_SYSTEMIC_RISK_FLOP",
    "FORMER_US_FLOP",
    "ComputeBand",
    "compute_band",
    "compute_band_info",
    "parse_flop",
]

EU_SYSTEMIC_RISK_FLOP: Final = 1e25
FORMER_US_FLOP: Final = 1e26


@dataclass(frozen=True)
class ComputeBand:
    """A training-compute band: applies when ``flop > above`` (and up to the next band)."""

    label: str
    above: float  # exclusive lower bound
    status: str
    source: str


#: Bands in increasing order of their lower bound.
BANDS: Final[tuple[ComputeBand, ...]] = (
    ComputeBand(
        label="below 1e25",
        above=-math.inf,
        status=(
            "At or below 10^25 FLOP no training-compute presumption applies. The EU threshold "
            "may be amended by Commission delegated act."
        ),
        source="Reference 1.5 [V: ai-act-law.eu, sorena.io, legalithm.com]",
    ),
    ComputeBand(
        label="EU AI Act systemic-risk presumption (>1e25, Art. 51(2))",
        above=EU_SYSTEMIC_RISK_FLOP,
        status=(
            "EU AI Act Art. 51(2): cumulative training compute above 10^25 FLOP presumes "
            "high-impact capabilities, i.e. a general-purpose AI model with systemic risk; the "
            "provider must notify the Commission within two weeks (Art. 52). In force for GPAI "
            "models since 2 Aug 2025; threshold amendable by delegated act."
        ),
        source="Reference 1.5 [V: ai-act-law.eu, sorena.io, legalithm.com]",
    ),
    ComputeBand(
        label="above 1e26 (former 4E091 / EO 14110 threshold, rescinded)",
        above=FORMER_US_FLOP,
        status=(
            "Above 10^26 operations: weights of closed-weight models trained above this were "
            "controlled as ECCN 4E091 by the BIS AI Diffusion IFR (90 FR 4544, Jan 2025), "
            "rescinded/unenforced from May 2025 with 4E091's status not specifically addressed; "
            "EO 14110 s.4.2 reporting used the same threshold and was revoked on 20 Jan 2025. "
            "The EU AI Act 10^25 presumption applies as well."
        ),
        source=(
            "Reference 1.5 [V: Federal Register summary, perkinscoie, akingump, wilmerhale; "
            "JD Supra on 4E091 status; digitalpolicyalert, natlawreview, govinfo on EO revocation]"
        ),
    ),
)

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_E_FORM = re.compile(rf"\+?{_NUMBER}(?:[eE][+-]?\d+)?", re.ASCII)
_POWER_FORM = re.compile(
    rf"(?:(?P<mantissa>\+?{_NUMBER})\s*[xX*\u00d7\u00b7]\s*)?10\s*(?:\^|\*\*)\s*(?P<exponent>[+-]?\d+)",
    re.ASCII,
)
_UNIT = re.compile(r"\s*flops?\s*$", re.IGNORECASE)
_MAX_TEXT = 100
_MAX_EXPONENT = 400  # well beyond float range; bounds the work done on hostile input


def compute_band_info(training_flop: float) -> ComputeBand:
    """The :class:`ComputeBand` for a training-compute figure (FLOP, non-negative)."""
    if (
        isinstance(training_flop, bool)
        or not isinstance(training_flop, int | float)
        or not math.isfinite(training_flop)
        or training_flop < 0
    ):
        raise ValueError(f"training compute must be a finite number >= 0, got {training_flop!r}")
    band = BANDS[0]
    for candidate in BANDS:
        if training_flop > candidate.above:
            band = candidate
    return band


def compute_band(training_flop: float) -> str:
    """Label of the band for ``training_flop``: see :data:`BANDS` for status notes."""
    return compute_band_info(training_flop).label


def parse_flop(text: str) -> float:
    """Parse a training-compute figure typed by an analyst.

    Accepts plain or scientific notation ("32000000000000000000000000", "3.2e25", "3.2E+25"),
    powers of ten ("10^25", "3.2 x 10^25", "3.2*10**25"; the multiplication sign U+00D7 and the
    middle dot U+00B7 also work as "x") and an optional trailing
    "FLOP"/"FLOPs". Refuses anything else, negatives, NaN/infinity and values beyond float range
    with ``ValueError``.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    if len(text) > _MAX_TEXT:
        raise ValueError(f"FLOP figure is too long ({len(text)} characters)")
    body = _UNIT.sub("", text).strip()
    if body.startswith("-"):
        raise ValueError(f"training compute cannot be negative: {text!r}")
    try:
        if _E_FORM.fullmatch(body):
            exponent = re.search(r"[eE]([+-]?\d+)$", body, re.ASCII)
            if exponent and abs(int(exponent.group(1))) > _MAX_EXPONENT:
                raise OverflowError
            value = Decimal(body)
        elif match := _POWER_FORM.fullmatch(body):
            power = int(match.group("exponent"))
            if abs(power) > _MAX_EXPONENT:
                raise OverflowError
            value = Decimal(match.group("mantissa") or "1").scaleb(power)
        else:
            raise ValueError(f"not a FLOP figure: {text!r} (expected e.g. 3.2e25 or 3.2 x 10^25)")
        result = float(value)
    except (OverflowError, InvalidOperation):
        raise ValueError(f"FLOP figure out of range: {text!r}") from None
    if not math.isfinite(result):
        raise ValueError(f"FLOP figure out of range: {text!r}")
    return result
