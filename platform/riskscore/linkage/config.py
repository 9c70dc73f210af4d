"""Weights (log2 Bayes factors) and thresholds of the linkage, in one place.

The weights are hand-set priors in the Fellegi-Sunter form log2(m / u): m = how often the level
occurs between two reports of one case, u = between two unrelated reports. Examples of the
reasoning: two reports of one shipment give event dates within three days most of the time
(m ~ 0.8) while two unrelated shipments over two years do so about one time in a hundred
(u ~ 0.01): +5 bits (rounded down). Consignee countries disagree between reports of one
shipment only by error (m ~ 0.03) and between unrelated ones usually (u ~ 0.7): -4 bits. A shared
accelerator serial or shipment reference is near-certain. Names and addresses get their weight
from the rarity of what they share (``names``), not from a constant.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["LinkageConfig"]


@dataclass(frozen=True)
class LinkageConfig:
    # hard identifiers
    serial_agree: float = 24.0
    serial_disagree: float = -6.0
    ref_agree: float = 18.0
    ref_disagree: float = -5.0
    # names (rarity-weighted, clamped to [floor, cap])
    name_cap: float = 16.0
    name_floor: float = -4.0
    suspected_factor: float = 0.5  # a suspected end user: half the evidence, never negative
    suspected_cap: float = 6.0
    declared_factor: float = 0.25  # a declared end user: weak, never negative, never alone
    declared_cap: float = 2.0
    intermediary_factor: float = 0.2  # forwarders serve thousands of unrelated shipments
    intermediary_cap: float = 2.0
    # address: rarity of the address minus an offset, so formation-agent addresses weigh ~0
    address_offset: float = 4.0
    address_cap: float = 8.0
    address_disagree: float = -1.0
    address_other_party: float = 0.25  # factor when the consignee names disagree
    party_cap: float = 14.0  # name + address + country together: "the same company" at most
    country_agree: float = 1.5
    country_disagree: float = -4.0
    model_agree: float = 1.5
    model_disagree: float = -3.0
    quantity_exact: float = 3.0
    quantity_close: float = 1.0
    quantity_far: float = -2.0
    route_exact: float = 2.0
    route_same_set: float = 1.5
    route_overlap: float = 0.5
    route_disjoint: float = -1.0
    date_close: float = 5.0  # within 3 days
    date_near: float = 2.5  # within 14 days
    date_far: float = -2.5  # 61 to 365 days apart
    date_very_far: float = -5.0  # over a year apart
    # decisions
    link_threshold: float = 14.0
    review_threshold: float = 8.0
    veto: float = -10.0  # a member pair this negative keeps two clusters apart
    min_mean: float = 0.0  # mean weight across two clusters needed to merge them
    max_cluster: int = 200  # beyond this only hard identifiers still merge
    flag_size: int = 25  # clusters this large are checked for cohesion
    cohesion_min: float = 4.0  # mean internal weight below this flags a cluster
    # blocking
    full_block: int = 16  # blocks up to this size compare all pairs
    window: int = 6  # larger blocks compare date-ordered neighbours within this window

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkageConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown linkage settings: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            kind = int if known[key].type in ("int", int) else float
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            values[key] = kind(value)
        return cls(**values)
