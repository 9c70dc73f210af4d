"""Catalogue of real AI accelerators with the figures needed for ECCN 3A090 classification.

The figures live in ``exportcontrol/data/chips.json`` (loaded once, at import) and each entry
carries a ``source`` note quoting the labels of the project's research reference
(``shared/reference/export-controls-and-scoring.md`` section 1.6) with its certainty marks:
[V] seen verbatim, [S] secondary source only, [U] unconfirmed.

Throughput is *dense* (non-sparse) datasheet TOPS/TFLOPS per operand bit length. Chips for which
the reference gives no figures (H100 PCIe, RTX 4090) are deliberately absent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from exportcontrol._data import (
    DataError,
    get_bool,
    get_list,
    get_number,
    get_opt_number,
    get_str,
    load_json,
)

__all__ = [
    "VALID_BIT_LENGTHS",
    "Chip",
    "DenseRate",
    "all_chips",
    "lookup",
    "normalize_name",
]

#: Operand bit lengths a dense rate may be given for (TPP = rate x bit length).
VALID_BIT_LENGTHS: frozenset[int] = frozenset({4, 8, 16, 32, 64})

# Words dropped from a name before matching: vendor and brand prefixes and generic nouns.
_IGNORED_WORDS = frozenset(
    {"nvidia", "amd", "intel", "habana", "huawei", "hisilicon", "tensor", "core", "gpu"}
)
# A memory size such as "80GB", "80 GB" or "141G": it does not change the compute die.
_MEMORY_SIZE = re.compile(r"(?<![a-z0-9])\d+\s*(?:gb|gib|g)(?![a-z0-9])")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class DenseRate:
    """Dense peak throughput at one operand bit length."""

    bits: int
    rate: float  # tera-operations per second (TOPS or TFLOPS), dense
    formats: str  # e.g. "FP8/INT8"


@dataclass(frozen=True)
class Chip:
    """One accelerator model as catalogued (figures per ``source``)."""

    name: str
    manufacturer: str
    dense_rates: tuple[DenseRate, ...]
    die_area_mm2: float | None  # applicable logic die area; None when not known
    datacenter: bool  # designed or marketed for datacenters
    io_bandwidth_gbps: float | None  # aggregate bidirectional I/O (Oct 2022 prong); None = unknown
    aliases: tuple[str, ...]
    uncertain: bool  # figures flagged as uncertain by the reference
    source: str
    notes: str = ""

    @property
    def rates_by_bits(self) -> dict[int, float]:
        """``{bit_length: dense rate}`` for use with :func:`exportcontrol.classify.tpp`."""
        return {r.bits: r.rate for r in self.dense_rates}


def normalize_name(name: str) -> str:
    """Matching key for a chip name: case, spaces, hyphens, vendor prefixes, memory size ignored.

    >>> normalize_name("NVIDIA H100-SXM5 80GB")
    'h100sxm5'
    """
    folded = _MEMORY_SIZE.sub(" ", unicodedata.normalize("NFKC", name).casefold())
    return "".join(t for t in _TOKEN.findall(folded) if t not in _IGNORED_WORDS)


def _parse_chip(raw: object, index: int) -> Chip:
    where = f"chips.json chips[{index}]"
    if not isinstance(raw, dict):
        raise DataError(f"{where}: must be an object")
    name = get_str(raw, "name", where)
    where = f"chips.json {name!r}"
    rates: list[DenseRate] = []
    for item in get_list(raw, "dense_rates", where):
        if not isinstance(item, dict):
            raise DataError(f"{where}: each dense rate must be an object")
        bits = item.get("bits")
        if isinstance(bits, bool) or not isinstance(bits, int) or bits not in VALID_BIT_LENGTHS:
            raise DataError(f"{where}: bit length {bits!r} not in {sorted(VALID_BIT_LENGTHS)}")
        rate = get_number(item, "rate", where)
        if rate <= 0:
            raise DataError(f"{where}: dense rate at {bits} bits must be positive")
        rates.append(DenseRate(bits=bits, rate=rate, formats=get_str(item, "formats", where)))
    if not rates or len({r.bits for r in rates}) != len(rates):
        raise DataError(f"{where}: needs at least one dense rate and one per bit length")
    area = get_opt_number(raw, "die_area_mm2", where)
    io = get_opt_number(raw, "io_bandwidth_gbps", where)
    if (area is not None and area <= 0) or (io is not None and io <= 0):
        raise DataError(f"{where}: die area and I/O bandwidth must be positive or null")
    aliases = get_list(raw, "aliases", where)
    if not all(isinstance(a, str) for a in aliases):
        raise DataError(f"{where}: aliases must be strings")
    source = get_str(raw, "source", where)
    if not source.strip():
        raise DataError(f"{where}: every chip needs a source note")
    return Chip(
        name=name,
        manufacturer=get_str(raw, "manufacturer", where),
        dense_rates=tuple(sorted(rates, key=lambda r: r.bits)),
        die_area_mm2=area,
        datacenter=get_bool(raw, "datacenter", where),
        io_bandwidth_gbps=io,
        aliases=tuple(aliases),
        uncertain=get_bool(raw, "uncertain", where),
        source=source,
        notes=get_str(raw, "notes", where),
    )


def _load() -> tuple[tuple[Chip, ...], dict[str, Chip]]:
    raw = load_json("chips.json")
    chips = tuple(
        _parse_chip(item, i) for i, item in enumerate(get_list(raw, "chips", "chips.json"))
    )
    index: dict[str, Chip] = {}
    for chip in chips:
        for label in (chip.name, *chip.aliases):
            key = normalize_name(label)
            if not key:
                raise DataError(f"chips.json {chip.name!r}: alias {label!r} normalises to nothing")
            other = index.setdefault(key, chip)
            if other is not chip:
                raise DataError(
                    f"chips.json: {label!r} of {chip.name!r} clashes with {other.name!r}"
                )
    return chips, index


_CHIPS, _INDEX = _load()


def all_chips() -> list[Chip]:
    """Every catalogued chip, in catalogue order (a new list on each call)."""
    return list(_CHIPS)


def lookup(name: str) -> Chip | None:
    """Find a chip by name or alias, ignoring case, spaces, hyphens, vendor words and memory size.

    ``lookup("nvidia h100-sxm5 80GB")`` is the H100 SXM; ``lookup("H100 PCIe")`` is ``None``
    because the PCIe card has different figures and is not catalogued.
    """
    key = normalize_name(name)
    return _INDEX.get(key) if key else None
