"""Field-by-field comparison of many report pairs at once (numpy), and the evidence of one pair.

Every field becomes an integer code per report (country, day, quantity) or the id of a distinct
value (a name, a set of serials, a route). Pairs are arrays of row indices; a field that needs
more than equality (names, serial overlap, routes) is computed once per distinct pair of value
ids and broadcast back, so the Python work grows with distinct values, not with pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from .config import LinkageConfig
from .names import NameComparer, NameStats
from .records import Party, Record

__all__ = ["FIELDS", "Evidence", "Table"]

MISSING, AGREE, PARTIAL, DISAGREE = 0, 1, 2, 3
OUTCOMES = {AGREE: "agree", PARTIAL: "partial", DISAGREE: "disagree"}
_OUTCOME_CODE = {"agree": AGREE, "partial": PARTIAL, "disagree": DISAGREE}
FIELDS = (
    "serial",
    "shipment_ref",
    "name",
    "suspected_end_user",
    "declared_end_user",
    "intermediary",
    "address",
    "country",
    "items",
    "quantity",
    "route",
    "event_date",
)
Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Scores = tuple[Floats, NDArray[np.int8]]
V = TypeVar("V", bound=Hashable)


@dataclass(frozen=True)
class Evidence:
    field: str
    outcome: str  # "agree" | "partial" | "disagree"
    weight: float  # log2 Bayes factor this field contributed
    a: str  # the values as written (not normalised keys)
    b: str


class _Interner(Generic[V]):
    def __init__(self) -> None:
        self.ids: dict[V, int] = {}
        self.values: list[V] = []

    def __call__(self, value: V | None) -> int:
        if value is None:
            return -1
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = len(self.values)
            self.values.append(value)
        return found


def _ids(values: Sequence[V | None], interner: _Interner[V]) -> Ints:
    return np.fromiter((interner(v) for v in values), dtype=np.int64, count=len(values))


def _names(party: Party | None) -> tuple[str, ...] | None:
    return party.normalized if party is not None else None


def _event(record: Record) -> str:
    if record.event or record.day is None:
        return record.event
    return date.fromordinal(record.day).isoformat()


class Table:
    """The records of one clustering run as arrays, with cached per-value comparisons."""

    def __init__(self, records: Sequence[Record], stats: NameStats, config: LinkageConfig):
        self.records = records
        self.config = config
        self.names = NameComparer(stats, config.name_floor, config.name_cap)
        n = len(records)
        countries = _Interner[str]()
        self.country = _ids([r.party.country if r.party and r.party.country else None
                             for r in records], countries)  # fmt: skip
        self.day = np.fromiter((r.day if r.day is not None else 0 for r in records), np.int64, n)
        self.has_day = np.fromiter((r.day is not None for r in records), np.bool_, n)
        self.quantity = np.fromiter((r.quantity for r in records), np.int64, n)
        refs = _Interner[str]()
        self.ref = _ids([r.shipment_ref or None for r in records], refs)
        self.name_values = _Interner[tuple[str, ...]]()
        self.party = _ids([_names(r.party) for r in records], self.name_values)
        self.suspected = _ids([_names(r.suspected) for r in records], self.name_values)
        self.declared = _ids([_names(r.declared) for r in records], self.name_values)
        self.inter_values = _Interner[tuple[str, ...]]()
        self.inter = _ids(
            [tuple(sorted({m for _, m in r.intermediaries})) or None for r in records],
            self.inter_values,
        )
        self.serial_values = _Interner[frozenset[str]]()
        self.serials = _ids([r.serials or None for r in records], self.serial_values)
        self.model_values = _Interner[frozenset[str]]()
        self.models = _ids([r.models or None for r in records], self.model_values)
        self.route_values = _Interner[tuple[str, ...]]()
        self.route = _ids([r.route or None for r in records], self.route_values)
        self.address_values = _Interner[str]()
        self.address = _ids([r.address_key or None for r in records], self.address_values)
        batch = Counter(r.address_key for r in records if r.address_key)
        self.address_weight = [
            min(
                config.address_cap,
                max(
                    0.0,
                    stats.information(max(batch[k], stats.address_count.get(k, 0)))
                    - config.address_offset,
                ),
            )
            for k in self.address_values.values
        ]
        self._caches: dict[str, dict[int, tuple[float, int]]] = {}

    # -- per distinct value pair ---------------------------------------------------------------

    def _by_value(
        self, name: str, a: Ints, b: Ints, fn: Callable[[int, int], tuple[float, int]]
    ) -> Scores:
        weight = np.zeros(a.shape[0], np.float64)
        outcome = np.zeros(a.shape[0], np.int8)
        present = np.flatnonzero((a >= 0) & (b >= 0))
        if present.size == 0:
            return weight, outcome
        lo = np.minimum(a[present], b[present])
        hi = np.maximum(a[present], b[present])
        codes = (lo << 32) | hi
        uniq, inverse = np.unique(codes, return_inverse=True)
        cache = self._caches.setdefault(name, {})
        w_u = np.empty(uniq.shape[0], np.float64)
        o_u = np.empty(uniq.shape[0], np.int8)
        for k, code in enumerate(uniq.tolist()):
            hit = cache.get(code)
            if hit is None:
                hit = cache[code] = fn(code >> 32, code & 0xFFFFFFFF)
            w_u[k], o_u[k] = hit
        weight[present] = w_u[inverse]
        outcome[present] = o_u[inverse]
        return weight, outcome

    def _serial(self, x: int, y: int) -> tuple[float, int]:
        sx, sy = self.serial_values.values[x], self.serial_values.values[y]
        if sx & sy:
            return self.config.serial_agree, AGREE
        return self.config.serial_disagree, DISAGREE

    def _party_names(self, x: int, y: int) -> tuple[float, int]:
        na, nb = self.name_values.values[x], self.name_values.values[y]
        verdict = self.names.compare_parties(na, nb)
        return verdict.weight, _OUTCOME_CODE[verdict.outcome]

    def _scaled(self, factor: float, cap: float) -> Callable[[int, int], tuple[float, int]]:
        def scaled(x: int, y: int) -> tuple[float, int]:
            weight, outcome = self._party_names(x, y)
            return max(0.0, min(cap, factor * weight)), outcome

        return scaled

    def _intermediary(self, x: int, y: int) -> tuple[float, int]:
        na, nb = self.inter_values.values[x], self.inter_values.values[y]
        weight, outcome = self.names.compare_parties(na, nb).weight, PARTIAL
        cfg = self.config
        scaled = max(0.0, min(cfg.intermediary_cap, cfg.intermediary_factor * weight))
        return scaled, AGREE if scaled > 0 else outcome

    def _address(self, x: int, y: int) -> tuple[float, int]:
        if x == y:
            return self.address_weight[x], AGREE
        ka, kb = self.address_values.values[x], self.address_values.values[y]
        (ta, ca), (tb, cb) = ka.rsplit("|", 1), kb.rsplit("|", 1)
        sa, sb = set(ta.split()), set(tb.split())
        overlap = len(sa & sb) / max(1, len(sa | sb))
        if overlap >= 0.6 and (ca == cb or not ca or not cb):
            return 0.5 * min(self.address_weight[x], self.address_weight[y]), PARTIAL
        if overlap < 0.3:
            return self.config.address_disagree, DISAGREE
        return 0.0, PARTIAL

    def _models(self, x: int, y: int) -> tuple[float, int]:
        ma, mb = self.model_values.values[x], self.model_values.values[y]
        if ma & mb:
            return self.config.model_agree, AGREE
        return self.config.model_disagree, DISAGREE

    def _route(self, x: int, y: int) -> tuple[float, int]:
        cfg = self.config
        if x == y:
            return cfg.route_exact, AGREE
        ra, rb = self.route_values.values[x], self.route_values.values[y]
        sa, sb = set(ra), set(rb)
        if sa == sb:
            return cfg.route_same_set, PARTIAL
        # the first country is usually the exporter shared by everything: look past it
        if (sa - {ra[0]}) & (sb - {rb[0]}):
            return cfg.route_overlap, PARTIAL
        return cfg.route_disjoint, DISAGREE

    # -- vectorised fields ---------------------------------------------------------------------

    def _equal(self, codes: Ints, a: Ints, b: Ints, agree: float, disagree: float) -> Scores:
        ca, cb = codes[a], codes[b]
        present = (ca >= 0) & (cb >= 0)
        same = present & (ca == cb)
        weight = np.where(same, agree, np.where(present, disagree, 0.0))
        outcome = np.where(same, AGREE, np.where(present, DISAGREE, MISSING)).astype(np.int8)
        return weight, outcome

    def _dates(self, a: Ints, b: Ints) -> Scores:
        cfg = self.config
        present = self.has_day[a] & self.has_day[b]
        gap = np.abs(self.day[a] - self.day[b])
        bins = np.array([3, 14, 60, 365])
        weights = np.array([cfg.date_close, cfg.date_near, 0.0, cfg.date_far, cfg.date_very_far])
        codes = np.array([AGREE, PARTIAL, PARTIAL, DISAGREE, DISAGREE], np.int8)
        level = np.searchsorted(bins, gap, side="left")
        return np.where(present, weights[level], 0.0), np.where(present, codes[level], 0).astype(
            np.int8
        )

    def _quantity(self, a: Ints, b: Ints) -> Scores:
        cfg = self.config
        qa, qb = self.quantity[a], self.quantity[b]
        present = (qa > 0) & (qb > 0)
        ratio = np.maximum(qa, qb) / np.maximum(1, np.minimum(qa, qb))
        weight = np.select(
            [~present, qa == qb, ratio <= 1.1, ratio > 2.0],
            [0.0, cfg.quantity_exact, cfg.quantity_close, cfg.quantity_far],
            0.0,
        )
        outcome = np.select(
            [~present, qa == qb, ratio <= 1.1, ratio > 2.0], [MISSING, AGREE, PARTIAL, DISAGREE], 2
        ).astype(np.int8)
        return weight, outcome

    def fields(self, a: Ints, b: Ints) -> dict[str, Scores]:
        scores = self._fields(a, b)
        # an address identifies the consignee: different consignees at one address are
        # neighbours in a building (often a formation agent's), not one party
        cfg = self.config
        address_weight, _ = scores["address"]
        name_weight, name_outcome = scores["name"]
        address_weight[name_outcome == DISAGREE] *= cfg.address_other_party
        # name, address and country all say "the same company"; a company receives many
        # shipments, so together they are capped: the rest must say "the same shipment"
        country_weight, _ = scores["country"]
        party = name_weight + address_weight + country_weight
        excess = np.maximum(0.0, party - cfg.party_cap)
        address_weight -= np.minimum(excess, np.maximum(address_weight, 0.0))
        excess = np.maximum(0.0, name_weight + address_weight + country_weight - cfg.party_cap)
        name_weight -= excess
        return scores

    def _fields(self, a: Ints, b: Ints) -> dict[str, Scores]:
        cfg = self.config
        return {
            "serial": self._by_value("serial", self.serials[a], self.serials[b], self._serial),
            "shipment_ref": self._equal(self.ref, a, b, cfg.ref_agree, cfg.ref_disagree),
            "name": self._by_value("name", self.party[a], self.party[b], self._party_names),
            "suspected_end_user": self._by_value(
                "suspected",
                self.suspected[a],
                self.suspected[b],
                self._scaled(cfg.suspected_factor, cfg.suspected_cap),
            ),
            "declared_end_user": self._by_value(
                "declared",
                self.declared[a],
                self.declared[b],
                self._scaled(cfg.declared_factor, cfg.declared_cap),
            ),
            "intermediary": self._by_value(
                "intermediary", self.inter[a], self.inter[b], self._intermediary
            ),
            "address": self._by_value("address", self.address[a], self.address[b], self._address),
            "country": self._equal(self.country, a, b, cfg.country_agree, cfg.country_disagree),
            "items": self._by_value("items", self.models[a], self.models[b], self._models),
            "quantity": self._quantity(a, b),
            "route": self._by_value("route", self.route[a], self.route[b], self._route),
            "event_date": self._dates(a, b),
        }

    def weights(self, a: Ints, b: Ints) -> tuple[Floats, NDArray[np.bool_]]:
        """Total log2 weight of each pair, and whether a hard identifier (serial, shipment
        reference) agreed."""
        scores = self.fields(a, b)
        total = np.zeros(a.shape[0], np.float64)
        for weight, _outcome in scores.values():
            total += weight
        hard = (scores["serial"][1] == AGREE) | (scores["shipment_ref"][1] == AGREE)
        return total, hard

    # -- explanations --------------------------------------------------------------------------

    def evidence(self, pairs: Sequence[tuple[int, int]]) -> list[tuple[Evidence, ...]]:
        """What agreed and disagreed between each pair of records, with values as written
        (strongest first)."""
        if not pairs:
            return []
        a = np.fromiter((p[0] for p in pairs), np.int64, len(pairs))
        b = np.fromiter((p[1] for p in pairs), np.int64, len(pairs))
        scores = self.fields(a, b)
        columns = [(name, scores[name][0].tolist(), scores[name][1].tolist()) for name in FIELDS]
        out: list[tuple[Evidence, ...]] = []
        for k, (i, j) in enumerate(pairs):
            items: list[Evidence] = []
            for name, weights, outcomes in columns:
                weight, outcome = weights[k], outcomes[k]
                if outcome == MISSING or (weight == 0.0 and outcome != AGREE):
                    continue
                wa, wb = self._written(name, self.records[i], self.records[j])
                items.append(Evidence(name, OUTCOMES[outcome], round(weight, 3), wa, wb))
            items.sort(key=lambda e: -abs(e.weight))
            out.append(tuple(items))
        return out

    def _written_party(self, pa: Party | None, pb: Party | None) -> tuple[str, str]:
        if pa is None or pb is None:
            return "", ""
        verdict = self.names.compare_parties(pa.normalized, pb.normalized)
        return pa.written[verdict.a], pb.written[verdict.b]

    def _written(self, name: str, ra: Record, rb: Record) -> tuple[str, str]:
        if name == "serial":
            shared = sorted(ra.serials & rb.serials)
            if shared:
                text = ", ".join(shared[:5]) + (" …" if len(shared) > 5 else "")
                return text, text
            return ", ".join(sorted(ra.serials)[:3]), ", ".join(sorted(rb.serials)[:3])
        if name == "name":
            return self._written_party(ra.party, rb.party)
        if name == "suspected_end_user":
            return self._written_party(ra.suspected, rb.suspected)
        if name == "declared_end_user":
            return self._written_party(ra.declared, rb.declared)
        simple: dict[str, Callable[[Record], str]] = {
            "shipment_ref": lambda r: r.shipment_ref,
            "intermediary": lambda r: ", ".join(w for w, _ in r.intermediaries),
            "address": lambda r: r.address,
            "country": lambda r: r.party.country if r.party else "",
            "items": lambda r: ", ".join(sorted(r.models)),
            "quantity": lambda r: str(r.quantity),
            "route": lambda r: " → ".join(r.route),
            "event_date": _event,
        }
        return simple[name](ra), simple[name](rb)
