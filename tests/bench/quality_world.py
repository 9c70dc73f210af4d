"""The scoring-quality world, implementing ``scoring_quality_spec.md`` (read that first).

Imports nothing from ``riskscore``: the world speaks the report schema only. Every probability
is drawn per run from the spec's ranges (``_draw``). Names are invented from syllables.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 1, tzinfo=UTC)
DISTILLATION = "high-volume API queries against a frontier model, consistent with distillation"
NODES = ("us", "gb", "ca", "au", "nz", "jp", "eu")
FLAGS = (
    "freight_forwarder_consignee", "residential_address", "third_country_payment",
    "refused_installation", "new_company", "evasive_end_use", "cash_payment",
    "unusual_routing", "mismatched_end_use", "reluctant_information",
)  # fmt: skip
EXPORTERS = ("US", "NL", "JP", "KR", "TW")
ALLIED = ("DE", "FR", "GB", "JP", "CA", "AU", "NL", "SE", "US", "KR")
HUBS = ("SG", "MY", "AE", "HK", "TH", "VN")
D5 = ("CN", "RU", "IR", "BY", "KP")
BUSINESS = (
    "Logistics", "Industrial", "Trading", "Technology", "Electronics", "Supply", "Systems",
    "Computing", "Data", "Components", "Holdings", "Solutions",
)  # fmt: skip
LEGAL = ("Co., Ltd.", "Pte. Ltd.", "Sdn. Bhd.", "LLC", "FZE", "Limited", "GmbH", "JSC", "Inc.")
SYLLABLES = (
    "ka", "lo", "vin", "tor", "mek", "ran", "zu", "bel", "dra", "nov", "sik", "ter", "qua",
    "lin", "mar", "ost", "pel", "ryn", "sol", "tev", "ul", "vor", "wen", "yar", "zed", "hal",
    "gor", "fen", "eck", "dor", "cai", "bri",
)  # fmt: skip
CHIPS = (("H100 SXM", 27_000), ("H800 SXM", 30_000), ("A100 SXM", 12_000),
         ("H20", 12_000), ("L40S", 9_000), ("MI300X", 20_000))  # fmt: skip
CARRIERS = ("Blue Crane Air", "Meridian Freight", "Polar Express Cargo", "Saffron Lines")
CATEGORY_SHARES = (
    ("chip_diversion", 0.58), ("military_ai", 0.10), ("cloud_compute", 0.10),
    ("model_weights", 0.08), ("ai_incident", 0.08), ("other", 0.06),
)  # fmt: skip

RANGES: dict[str, tuple[float, float]] = {
    "base_rate": (0.06, 0.12), "label_noise": (0.03, 0.06),
    "extra_reports_neg": (0.4, 0.8), "extra_reports_pos": (0.6, 1.1), "relay": (0.10, 0.25),
    "good_grade_pos": (0.35, 0.5), "good_grade_neg": (0.25, 0.4),
    "hub_buyer": (0.30, 0.45), "flagged_buyer": (0.10, 0.20), "collision": (0.05, 0.10),
    "sloppy_hub": (0.15, 0.30), "classic": (0.35, 0.50), "imitator": (0.20, 0.30),
    "hide_last_route": (0.20, 0.40), "withhold_declared_pos": (0.25, 0.40),
    "withhold_declared_neg": (0.15, 0.30), "withhold_value_neg": (0.30, 0.45),
    "withhold_value_pos": (0.20, 0.35), "withhold_serials": (0.40, 0.60),
    "mil_d5_pos": (0.70, 0.90), "mil_d5_neg": (0.30, 0.50), "mil_cap_pos": (0.60, 0.85),
    "mil_cap_neg": (0.10, 0.25), "mil_org_pos": (0.30, 0.50), "mil_chips_pos": (0.50, 0.80),
    "mil_cluster_pos": (0.50, 0.80), "mil_listed_pos": (0.20, 0.35),
    "cloud_d5_pos": (0.50, 0.75), "cloud_layers_pos": (0.40, 0.65),
    "cloud_distil_pos": (0.35, 0.60), "cloud_hub_neg": (0.30, 0.50),
    "cloud_layers_neg": (0.10, 0.20), "cloud_distil_neg": (0.05, 0.12),
    "weights_channel_pos": (0.60, 0.85), "weights_d5_pos": (0.50, 0.75),
    "weights_d5_neg": (0.10, 0.25), "incident_state_pos": (0.30, 0.50),
    "incident_one_neg": (0.25, 0.45), "other_listed_pos": (0.15, 0.30),
    "other_listed_neg": (0.02, 0.06),
}  # fmt: skip


@dataclass
class World:
    cases: list[list[dict[str, Any]]]
    labels: list[int]  # recorded (noisy) disposition per case
    categories: list[str]
    archetypes: list[str]
    screening: list[dict[str, Any]]
    params: dict[str, float] = field(default_factory=dict)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.p = {k: self.rng.uniform(*v) for k, v in RANGES.items()}
        self.n_reports = 0
        self.listed: list[dict[str, Any]] = []
        self.serial_pool: list[str] = []

    # -- names ---------------------------------------------------------------------------
    def word(self) -> str:
        return "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.choice((2, 2, 3))))

    def company(self) -> tuple[str, str, str]:
        return self.word().capitalize(), self.word().capitalize(), self.rng.choice(BUSINESS)

    def name(self, parts: tuple[str, str, str], legal: str | None = None) -> str:
        return f"{parts[0]} {parts[1]} {parts[2]} {legal or self.rng.choice(LEGAL)}"

    def variant(self, listed: dict[str, Any]) -> str:
        """A listed name as a diverter writes it: typo, transliteration, order, form, alias."""
        a, b, business = listed["parts"]
        kind = self.rng.choice(("typo", "translit", "order", "legal", "alias", "caps"))
        if kind == "alias" and listed["alt_names"]:
            return str(listed["alt_names"][0])
        if kind == "typo":
            i = self.rng.randrange(1, len(a) - 1)
            a = a[:i] + a[i + 1] + a[i] + a[i + 2 :] if i + 1 < len(a) else a[:-1]
        elif kind == "translit":
            a = a.replace("k", "kh").replace("v", "w").replace("i", "y") if a else a
        elif kind == "order":
            return f"{b} {a} {business} {self.rng.choice(LEGAL)}"
        elif kind == "caps":
            return f"{a} {b} {business}".upper()
        return f"{a} {b} {business} {self.rng.choice(LEGAL)}"

    def collision(self, listed: dict[str, Any]) -> str:
        """A different company whose name shares a listed name's distinctive words."""
        a, b, business = listed["parts"]
        if self.rng.random() < 0.6:
            other = self.rng.choice([w for w in BUSINESS if w != business])
            return f"{a} {b} {other} {self.rng.choice(LEGAL)}"
        return f"{a} {self.word().capitalize()} {business} {self.rng.choice(LEGAL)}"

    def address(self) -> str:
        street = self.word().capitalize()
        return f"{self.rng.randint(1, 400)} {street} Road, Unit {self.rng.randint(1, 90)}"

    # -- screening list --------------------------------------------------------------------
    def build_list(self, n: int = 400) -> list[dict[str, Any]]:
        for i in range(n):
            parts = self.company()
            country = self.rng.choice(("CN", "CN", "HK", "RU", "IR", "AE", "BY"))
            alt = [f"{parts[0]}{parts[1][:3]} {parts[2]}"] if self.rng.random() < 0.3 else []
            self.listed.append(
                {
                    "id": f"SYN-{i}",
                    "name": self.name(parts),
                    "alt_names": alt,
                    "parts": parts,
                    "addresses": [{"address": self.address(), "country": country}],
                    "source": "Synthetic record. Not a real designated party.",
                }
            )
        return [{k: v for k, v in e.items() if k != "parts"} for e in self.listed]

    # -- reports ---------------------------------------------------------------------------
    def grades(self, y: int) -> tuple[str, int]:
        good = self.rng.random() < self.p["good_grade_pos" if y else "good_grade_neg"]
        rel = self.rng.choice("AB" if good else "BCCDDEF")
        cred = self.rng.choice((1, 2) if good else (2, 3, 3, 4, 5, 6))
        return rel, cred

    def reports(self, y: int, category: str, details: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        day = NOW - timedelta(days=self.rng.randint(5, 300))
        for d in details:
            self.n_reports += 1
            rel, cred = self.grades(y)
            report = {
                "id": f"rep-{self.n_reports}",
                "version": 1,
                "origin": self.rng.choice(NODES),
                "title": "Synthetic report",
                "summary": d.pop("_summary", ""),
                "category": category,
                "status": "published",
                "event_start": (day + timedelta(days=self.rng.randint(0, 20))).date().isoformat(),
                "reported_at": (day + timedelta(days=25)).isoformat(),
                "source_reliability": rel,
                "info_credibility": cred,
                "markings": {"classification": "RESTRICTED", "rel_to": ["fvey"], "orcon": False},
                "relayed_by": [],
                "details": d,
                "entities": d.pop("_entities", []),
            }
            out.append(report)
            if self.rng.random() < self.p["relay"]:
                relay = dict(report)
                relay["relayed_by"] = [self.rng.choice(NODES)]
                out.append(relay)
        return out

    def n_details(self, y: int) -> int:
        lam = self.p["extra_reports_pos" if y else "extra_reports_neg"]
        return 1 + _poisson(self.rng, lam)

    def flags(self, k: int) -> list[str]:
        return self.rng.sample(FLAGS, min(k, len(FLAGS)))

    def nuisance(self, d: dict[str, Any]) -> None:
        d["carrier"] = self.rng.choice(CARRIERS)
        d["incoterm"] = self.rng.choice(("EXW", "FCA", "DAP", "DDP", "CIF"))
        d["packaging"] = self.rng.choice(("pallets", "crates", "server racks", "cartons"))
        d["invoice_pages"] = self.rng.randint(1, 12)
        d["weight_kg"] = self.rng.randint(20, 4000)
        if self.rng.random() < 0.5:
            d["customs_broker"] = {"name": self.name(self.company()), "country": "US"}

    # -- chip diversion --------------------------------------------------------------------
    def shipment(self, y: int) -> tuple[str, list[dict[str, Any]]]:
        archetype = self.chip_archetype(y)
        base = self.chip_base(y, archetype)
        details = []
        for k in range(self.n_details(y)):
            d = _deep(base)
            if k > 0:  # another report on the same shipment tells part of the story
                d["red_flags"] = self.rng.sample(base["red_flags"], len(base["red_flags"]) // 2)
            self.withhold(d, y)
            self.nuisance(d)
            details.append(d)
        return archetype, details

    def chip_archetype(self, y: int) -> str:
        r = self.rng.random()
        if y:
            if r < self.p["classic"]:
                return "classic"
            return "imitator" if r < self.p["classic"] + self.p["imitator"] else "quiet"
        if r < self.p["hub_buyer"]:
            return "hub_buyer"
        r -= self.p["hub_buyer"]
        if r < self.p["flagged_buyer"]:
            return "flagged_buyer"
        return "collision" if r - self.p["flagged_buyer"] < self.p["collision"] else "allied"

    def chip_base(self, y: int, archetype: str) -> dict[str, Any]:
        model, price = self.rng.choice(CHIPS)
        qty = int(10 ** self.rng.uniform(1.0, 3.3))
        hub = self.rng.choice(HUBS)
        exporter = self.rng.choice(EXPORTERS)
        consignee = self.name(self.company())
        declared_country, route, flags = hub, [exporter, hub], []
        unit = price * self.rng.uniform(0.8, 1.25)
        suspected = None
        serials = [f"SN{self.rng.randint(10**7, 10**8 - 1)}" for _ in range(self.rng.randint(1, 3))]
        entities: list[dict[str, Any]] = []
        if archetype == "allied":
            declared_country = self.rng.choice(ALLIED)
            route = [exporter, *([hub] if self.rng.random() < 0.3 else []), declared_country]
            flags = self.flags(1) if self.rng.random() < 0.1 else []
        elif archetype == "hub_buyer":
            flags = (
                self.flags(self.rng.randint(1, 2))
                if self.rng.random() < self.p["sloppy_hub"]
                else []
            )
            if self.rng.random() < 0.3:
                flags.append("freight_forwarder_consignee")
        elif archetype == "flagged_buyer":
            flags = self.flags(self.rng.randint(2, 3))
            if self.rng.random() < 0.5:
                declared_country = self.rng.choice(ALLIED)
                route = [exporter, declared_country]
        elif archetype == "collision":
            consignee = self.collision(self.rng.choice(self.listed))
        elif archetype == "classic":
            route = [exporter, hub, self.rng.choice(D5)]
            flags = self.flags(self.rng.randint(2, 4))
            if self.rng.random() < 0.2:
                consignee = self.variant(self.rng.choice(self.listed))
        elif archetype == "imitator":
            flags = self.flags(1) if self.rng.random() < 0.5 else []
            trick = self.rng.choice(("listed", "listed", "officer", "serial"))
            if trick == "listed":
                consignee = self.variant(self.rng.choice(self.listed))
            elif trick == "officer":
                entities = [
                    {
                        "kind": "person",
                        "role": "officer",
                        "name": self.rng.choice(self.listed)["name"].split(" ")[0]
                        + " "
                        + self.word().capitalize(),
                    }
                ]
                consignee = self.variant(self.rng.choice(self.listed))
            elif self.serial_pool:
                serials = [self.rng.choice(self.serial_pool)]
        else:  # quiet
            flags = self.flags(1) if self.rng.random() < 0.4 else []
            trick = self.rng.choice(("destination", "price", "suspected"))
            if trick == "destination":
                route = [exporter, hub, self.rng.choice([h for h in HUBS if h != hub] + list(D5))]
            elif trick == "price":
                unit = price * self.rng.choice((0.2, 0.3, 3.5, 5.0))
            else:
                suspected = {"name": self.name(self.company()), "country": self.rng.choice(D5)}
        if y:
            self.serial_pool.extend(serials)
        if archetype == "classic" and self.rng.random() < self.p["hide_last_route"]:
            route = route[:-1]
        return {
            "items": [{"model": model, "quantity": qty, "serials": serials}],
            "consignee": {"name": consignee, "address": self.address(), "country": hub},
            "declared_end_user": {
                "name": consignee if self.rng.random() < 0.5 else self.name(self.company()),
                "country": declared_country,
            },
            "suspected_end_user": suspected,
            "route": route,
            "value_usd": int(unit * qty),
            "eccn": "3A090.a" if model != "H20" else None,
            "shipment_ref": f"AWB-{self.rng.randint(10**6, 10**7)}",
            "red_flags": sorted(set(flags)),
            "_entities": entities,
        }

    def withhold(self, d: dict[str, Any], y: int) -> None:
        if self.rng.random() < self.p["withhold_declared_pos" if y else "withhold_declared_neg"]:
            d["declared_end_user"] = None
        if self.rng.random() < self.p["withhold_value_pos" if y else "withhold_value_neg"]:
            d.pop("value_usd", None)
        if self.rng.random() < self.p["withhold_serials"]:
            for item in d.get("items", []):
                item["serials"] = []
        if self.rng.random() < 0.2:
            d["route"] = []

    # -- other categories ------------------------------------------------------------------
    def org(self, d5_share: float, military: bool = False) -> dict[str, Any]:
        parts = self.company()
        name = f"{parts[0]} {'Defence Research Institute' if military else parts[2] + ' Lab'}"
        country = (
            self.rng.choice(D5) if self.rng.random() < d5_share else self.rng.choice(HUBS + ALLIED)
        )
        return {"name": name, "country": country}

    def military(self, y: int) -> list[dict[str, Any]]:
        p = self.p
        org = self.org(
            p["mil_d5_pos"] if y else p["mil_d5_neg"],
            bool(y) and self.rng.random() < p["mil_org_pos"],
        )
        if y and self.rng.random() < p["mil_listed_pos"]:
            org["name"] = self.variant(self.rng.choice(self.listed))
        flop = 10 ** (self.rng.uniform(24.5, 26.8) if y else self.rng.uniform(23.0, 25.5))
        capability = (
            "autonomous target recognition"
            if self.rng.random() < (p["mil_cap_pos"] if y else p["mil_cap_neg"])
            else self.rng.choice(("protein folding", "machine translation", "code assistant"))
        )
        chips = (
            "Ascend 910B"
            if y and self.rng.random() < p["mil_chips_pos"]
            else self.rng.choice(("H20", "A100 SXM", "RTX 4090"))
        )
        size = (
            self.rng.choice((2048, 4096, 10000))
            if y and self.rng.random() < p["mil_cluster_pos"]
            else self.rng.choice((64, 256, 512))
        )
        return [
            {
                "organisation": org,
                "capability": capability,
                "training_compute_flop": f"{flop:.2e}",
                "chips_used": [{"model": chips, "quantity": size}],
                "red_flags": self.generic_flags(y),
            }
            for _ in range(self.n_details(y))
        ]

    def cloud(self, y: int) -> list[dict[str, Any]]:
        p = self.p
        hours = int(10 ** (self.rng.uniform(5, 7) if y else self.rng.uniform(3, 6.3)))
        if y:
            country = (
                self.rng.choice(D5)
                if self.rng.random() < p["cloud_d5_pos"]
                else self.rng.choice(HUBS)
            )
        else:
            country = (
                self.rng.choice(HUBS)
                if self.rng.random() < p["cloud_hub_neg"]
                else self.rng.choice(ALLIED)
            )
        layers = self.rng.random() < (p["cloud_layers_pos"] if y else p["cloud_layers_neg"])
        distil = self.rng.random() < (p["cloud_distil_pos"] if y else p["cloud_distil_neg"])
        return [
            {
                "provider": {"name": self.name(self.company()), "country": "US"},
                "customer": {
                    "name": self.name(self.company()),
                    "country": country,
                    "address": self.address(),
                },
                "chips": [{"model": "H100 SXM", "quantity": self.rng.choice((64, 256, 1024))}],
                "gpu_hours": hours,
                "intermediaries": [
                    {
                        "name": self.name(self.company()),
                        "country": self.rng.choice(HUBS),
                        "role": "reseller",
                    }
                ]
                if layers
                else [],
                "description": DISTILLATION if distil else "batch training jobs",
                "red_flags": self.generic_flags(y),
            }
            for _ in range(self.n_details(y))
        ]

    def weights(self, y: int) -> list[dict[str, Any]]:
        p = self.p
        flop = 10 ** (self.rng.uniform(25.3, 26.7) if y else self.rng.uniform(23, 26))
        if y and self.rng.random() < p["weights_channel_pos"]:
            channel = self.rng.choice(("leak", "theft", "unlicensed_transfer"))
        else:
            channel = self.rng.choice(("open_release", "licensed", "sale"))
        d5 = self.rng.random() < (p["weights_d5_pos"] if y else p["weights_d5_neg"])
        recipient = {
            "name": self.name(self.company()),
            "country": self.rng.choice(D5 if d5 else HUBS + ALLIED),
        }
        return [
            {
                "organisation": self.org(0.2),
                "training_compute_flop": f"{flop:.2e}",
                "channel": channel,
                "recipient": recipient,
                "description": f"model weights, channel: {channel.replace('_', ' ')}",
                "red_flags": self.generic_flags(y),
            }
            for _ in range(self.n_details(y))
        ]

    def incident(self, y: int) -> list[dict[str, Any]]:
        all_caps = [
            "self_replication",
            "vulnerability_exploitation",
            "detection_evasion",
            "resource_acquisition",
        ]
        if y:
            caps = self.rng.sample(all_caps, self.rng.randint(1, 3))
        else:
            caps = (
                self.rng.sample(all_caps, 1)
                if self.rng.random() < self.p["incident_one_neg"]
                else []
            )
        scale = int(10 ** (self.rng.uniform(1, 4) if y else self.rng.uniform(0, 2)))
        state = y and self.rng.random() < self.p["incident_state_pos"]
        return [
            {
                "organisation": self.org(0.3),
                "capabilities": caps,
                "scale": scale,
                "actor": {
                    "name": self.name(self.company()),
                    "type": "state" if state else "company",
                },
                "description": "evaluation incident",
                "red_flags": self.generic_flags(y),
            }
            for _ in range(self.n_details(y))
        ]

    def other(self, y: int) -> list[dict[str, Any]]:
        listed = self.rng.random() < (
            self.p["other_listed_pos"] if y else self.p["other_listed_neg"]
        )
        org = self.org(0.4)
        if listed:
            org["name"] = self.variant(self.rng.choice(self.listed))
        return [
            {
                "organisation": org,
                "description": "procurement notice",
                "red_flags": self.flags(_poisson(self.rng, 1.2 if y else 0.5)),
            }
            for _ in range(self.n_details(y))
        ]

    def generic_flags(self, y: int) -> list[str]:
        if not y and self.rng.random() < self.p["flagged_buyer"]:
            return self.flags(self.rng.randint(2, 3))
        return self.flags(_poisson(self.rng, 0.8 if y else 0.3))


def _poisson(rng: random.Random, lam: float) -> int:
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


def generate(seed: int, n_cases: int = 3000) -> World:
    gen = _Gen(seed)
    screening = gen.build_list()
    cases, labels, categories, archetypes = [], [], [], []
    makers = {"military_ai": gen.military, "cloud_compute": gen.cloud, "model_weights": gen.weights,
              "ai_incident": gen.incident, "other": gen.other}  # fmt: skip
    for _ in range(n_cases):
        r, category = gen.rng.random(), "other"
        for name, share in CATEGORY_SHARES:
            if r < share:
                category = name
                break
            r -= share
        y = int(gen.rng.random() < gen.p["base_rate"])
        if category == "chip_diversion":
            archetype, details = gen.shipment(y)
        else:
            archetype, details = category, makers[category](y)
        cases.append(gen.reports(y, category, details))
        recorded = 1 - y if gen.rng.random() < gen.p["label_noise"] else y
        labels.append(recorded)
        categories.append(category)
        archetypes.append(archetype)
    return World(cases, labels, categories, archetypes, screening, gen.p)
