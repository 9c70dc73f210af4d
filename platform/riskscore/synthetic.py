"""Seeded synthetic benchmark: reports with known truth, built so the scorer cannot cheat.

No public labelled data exists (reference 4.5), so quality is measured on a generator whose
parameters are independent of the scorer's weights:

* Every emission probability is DRAWN PER RUN from a documented range (``_RANGES``), never read
  from ``features.FEATURES``; the scorer never sees the generator's parameters or case kinds.
* Hard cases on purpose: legitimate high-volume buyers in transshipment hubs (risky-looking
  negatives: hub destinations, forwarders, big controlled orders); quiet diverters with an
  established front, clean paperwork and at most a weak flag (positives the red-flag count
  misses); benign firms registered at formation-agent addresses shared with a listed entity;
  benign names that are near-misses of listed names (screening false positives); low-grade
  "false alarm" reports full of flags; the same report relayed by several nodes; fields missing
  not at random (diverters withhold more); a few percent of labels flipped.
* Names are invented from syllables (organisations and people); no real party is used.

``generate(seed, n_cases)`` returns ``(reports, labels)`` with ``labels[report_id]`` in {0, 1}
(noisy label of the report's true case). ``generate_world`` also returns the synthetic
screening list, the true (noise-free) labels, the generator case of each report and the run's
drawn parameters, to publish with every metric.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from riskscore.matching import ScreeningAddress, ScreeningEntry

__all__ = ["REFERENCE_TIME", "SyntheticWorld", "generate", "generate_world"]

REFERENCE_TIME = datetime(2026, 11, 1, tzinfo=UTC)  # "now" of every generated world

NODES = ("us", "gb", "ca", "au", "nz", "jp", "eu")
RED_FLAGS = (
    "freight_forwarder_consignee",
    "residential_address",
    "third_country_payment",
    "refused_installation",
    "new_company",
    "evasive_end_use",
    "cash_payment",
    "unusual_routing",
    "mismatched_end_use",
    "reluctant_information",
)
# catalogue names (real product names, not parties) and an invented street price per unit
CONTROLLED_CHIPS = (
    ("H100 SXM", 27_000),
    ("H800 SXM", 30_000),
    ("A100 SXM", 9_000),
    ("H200 SXM", 32_000),
    ("Instinct MI300X", 15_000),
    ("L40S", 8_000),
)
OTHER_CHIPS = (("H20", 12_000), ("RTX 4090", 1_800))  # H20: not 3A090; RTX 4090: not catalogued
HUBS = ("SG", "MY", "TH", "AE", "HK")
DIVERSION_DEST = ("CN", "RU", "IR", "CN", "CN")
BENIGN_DEST = ("DE", "FR", "JP", "GB", "US", "CA", "AU", "KR", "NL", "IN", "BR", "SE", "IL")
LEGAL = {
    "SG": ("Pte Ltd", "Pte. Ltd."),
    "MY": ("Sdn Bhd", "Sdn. Bhd."),
    "AE": ("FZE", "FZCO", "LLC"),
    "HK": ("Limited", "Co., Limited"),
    "TH": ("Co., Ltd.",),
    "CN": ("Technology Co., Ltd.", "Co., Ltd."),
    "RU": ("OOO", "JSC"),
    "IR": ("Company",),
    "US": ("LLC", "Inc."),
    "DE": ("GmbH",),
    "JP": ("K.K.",),
    "GB": ("Ltd",),
}
STREETS = ("Road", "Street", "Avenue", "Jalan", "Lane", "Boulevard")

# Ranges the run's emission parameters are drawn from (each run draws its own values).
_RANGES: dict[str, tuple[float, float]] = {
    "base_rate": (0.03, 0.07),  # share of diversion cases (reference 4.5: 1-5 %, a bit richer)
    "pos_blatant": (0.35, 0.5),  # positive subtypes (rest: quiet)
    "pos_network": (0.2, 0.3),
    "neg_hub_legit": (0.15, 0.25),  # negative subtypes (rest: ordinary)
    "neg_formation_agent": (0.05, 0.1),
    "neg_false_alarm": (0.03, 0.06),
    "neg_near_miss_name": (0.02, 0.05),
    "flag_blatant": (0.2, 0.5),  # P(each red flag) per report, by kind
    "flag_quiet": (0.01, 0.06),
    "flag_benign": (0.01, 0.05),
    "flag_hub_forwarder": (0.15, 0.35),  # legit hub buyers use forwarders
    "flag_false_alarm": (0.2, 0.45),
    "suspected_blatant": (0.45, 0.8),  # a suspected end user in a D:5 country is reported
    "suspected_quiet": (0.05, 0.2),
    "listed_alias_blatant": (0.1, 0.3),  # a party is a spelling variant of a listed name
    "controlled_pos": (0.75, 0.95),
    "controlled_neg": (0.4, 0.7),
    "extra_reports_pos": (0.5, 1.2),  # Poisson mean of further reports from other nodes
    "extra_reports_neg": (0.2, 0.6),
    "relay_rate": (0.2, 0.45),  # a report is relayed by 1-3 other nodes
    "withhold_pos": (0.2, 0.4),  # MNAR: diverters withhold key fields more often
    "withhold_neg": (0.05, 0.15),
    "label_noise": (0.02, 0.04),
    "military_share": (0.08, 0.12),
    "cloud_share": (0.1, 0.15),
}

_ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "h",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "kr",
    "st",
    "tr",
    "sh",
    "ch",
    "zh",
    "x",
    "q",
    "y",
    "w",
    "j",
)
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ao", "ei", "ia", "ou", "ua")
_CODAS = ("", "", "", "n", "ng", "r", "l", "k", "x", "s", "m")


@dataclass
class SyntheticWorld:
    reports: list[dict[str, Any]]
    labels: dict[str, int]  # report id -> noisy label (what the benchmark scores against)
    true_labels: dict[str, int]  # report id -> label before noise
    case_of_report: dict[str, int]  # report id -> generator case
    case_kinds: list[str]
    screening_entries: list[ScreeningEntry]
    params: dict[str, float] = field(default_factory=dict)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used_names: set[str] = set()

    def uniform(self, key: str) -> float:
        lo, hi = _RANGES[key]
        return self.rng.uniform(lo, hi)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def word(self, syllables: tuple[int, int] = (2, 3)) -> str:
        n = self.rng.randint(*syllables)
        parts = [
            self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) + self.rng.choice(_CODAS)
            for _ in range(n)
        ]
        return "".join(parts).capitalize()

    def org(self, country: str) -> str:
        while True:
            core = " ".join(self.word() for _ in range(self.rng.choice((1, 2, 2))))
            if core not in self.used_names:
                self.used_names.add(core)
                break
        extra = self.rng.choice(("", "", "Technology", "Trading", "Data", "Systems", "Cloud"))
        suffix = self.rng.choice(LEGAL.get(country, ("Ltd",)))
        return " ".join(p for p in (core, extra, suffix) if p)

    def person(self) -> str:
        return f"{self.word((1, 2))} {self.word((2, 2))}"

    def address(self, country: str) -> str:
        return f"{self.rng.randint(1, 400)} {self.word((2, 2))} {self.rng.choice(STREETS)}, " + (
            f"{self.word((2, 3))} {self.rng.randint(10000, 99999)}"
        )

    def variant(self, name: str) -> str:
        """A spelling variant of a listed name: order, legal form, transliteration, typo."""
        tokens = name.split()
        kind = self.rng.choice(("order", "legal", "translit", "typo", "case"))
        if kind == "order" and len(tokens) > 2:
            core = tokens[:2]
            self.rng.shuffle(core)
            return " ".join(core + tokens[2:])
        if kind == "legal":
            return " ".join(tokens[:2]) + " " + self.rng.choice(("Limited", "Co", "Holdings"))
        if kind == "translit":
            return name.replace("x", "ks").replace("ch", "tch").replace("ou", "u")
        if kind == "typo" and len(name) > 6:
            i = self.rng.randrange(1, len(name) - 1)
            return name[:i] + name[i + 1 :]
        return name.upper()

    def near_miss(self, name: str) -> str:
        """A different party sharing one distinctive token with a listed name."""
        tokens = name.split()
        return f"{tokens[0]} {self.word()} {self.rng.choice(('Trading', 'Systems', 'Ltd'))}"


def _grade(g: _Gen, positive: bool, false_alarm: bool) -> tuple[str, int]:
    if false_alarm:
        return g.rng.choice("DDEEF"), g.rng.choice((4, 4, 5, 5, 6))
    rel_weights = (
        (0.1, 0.35, 0.35, 0.12, 0.03, 0.05) if positive else (0.05, 0.25, 0.4, 0.18, 0.05, 0.07)
    )
    cred_weights = (
        (0.15, 0.35, 0.3, 0.12, 0.03, 0.05) if positive else (0.08, 0.3, 0.35, 0.17, 0.05, 0.05)
    )
    rel = g.rng.choices("ABCDEF", weights=rel_weights)[0]
    cred = g.rng.choices((1, 2, 3, 4, 5, 6), weights=cred_weights)[0]
    return rel, cred


def _markings() -> dict[str, Any]:
    return {"classification": "RESTRICTED", "rel_to": ["fvey"], "orcon": False, "tlp": "amber"}


def generate_world(seed: int, n_cases: int) -> SyntheticWorld:
    """A whole synthetic world (see the module docstring)."""
    if n_cases <= 0:
        raise ValueError("n_cases must be positive")
    g = _Gen(seed)
    params = {key: round(g.uniform(key), 4) for key in _RANGES}

    # --- the synthetic screening list: listed organisations, officers, formation agents ------
    n_listed = max(20, n_cases // 8)
    listed: list[ScreeningEntry] = []
    listed_officers: list[str] = []
    for i in range(n_listed):
        country = g.rng.choice(("CN", "CN", "RU", "IR", "HK", "AE"))
        name = g.org(country)
        officer = g.person()
        listed_officers.append(officer)
        listed.append(
            ScreeningEntry(
                id=f"syn-{i:05d}",
                name=name,
                alt_names=(g.variant(name),) if g.rng.random() < 0.4 else (),
                addresses=(ScreeningAddress(address=g.address(country), country=country),),
                source="Entity List (EL) - Synthetic record. Not a real designated party.",
                programs=("EAR",),
                type="Entity",
            )
        )
    for i, officer in enumerate(listed_officers[: n_listed // 4]):
        listed.append(
            ScreeningEntry(
                id=f"syn-p{i:05d}",
                name=officer,
                source="SDN - Synthetic record.",
                programs=("SDGT",),
                type="Individual",
            )
        )
    agents: list[tuple[str, str]] = []  # formation-agent addresses, each shared with one listed
    for _ in range(max(3, n_cases // 300)):
        country = g.rng.choice(("HK", "AE", "SG"))
        address = g.address(country)
        agents.append((address, country))
        k = g.rng.randrange(n_listed)
        entry = listed[k]
        listed[k] = ScreeningEntry(
            id=entry.id,
            name=entry.name,
            alt_names=entry.alt_names,
            addresses=(*entry.addresses, ScreeningAddress(address=address, country=country)),
            source=entry.source,
            programs=entry.programs,
            type=entry.type,
        )
    forwarders = [(g.org(c), c) for c in g.rng.choices(HUBS, k=12)]

    # --- cases -----------------------------------------------------------------------------
    reports: list[dict[str, Any]] = []
    labels: dict[str, int] = {}
    true_labels: dict[str, int] = {}
    case_of: dict[str, int] = {}
    kinds: list[str] = []
    for c in range(n_cases):
        positive = g.rng.random() < params["base_rate"]
        u = g.rng.random()
        if positive:
            if u < params["pos_blatant"]:
                kind = "blatant"
            elif u < params["pos_blatant"] + params["pos_network"]:
                kind = "network"
            else:
                kind = "quiet"
        else:
            edges = [
                params["neg_hub_legit"],
                params["neg_formation_agent"],
                params["neg_false_alarm"],
                params["neg_near_miss_name"],
            ]
            names = ["hub_legit", "formation_agent", "false_alarm", "near_miss"]
            kind = "ordinary"
            acc = 0.0
            for edge, name in zip(edges, names, strict=True):
                acc += edge
                if u < acc:
                    kind = name
                    break
        v = g.rng.random()
        if v < params["military_share"]:
            category = "military_ai"
        elif v < params["military_share"] + params["cloud_share"]:
            category = "cloud_compute"
        else:
            category = "chip_diversion"
        if kind in ("formation_agent", "hub_legit", "near_miss") and category != "chip_diversion":
            category = "chip_diversion"
        kinds.append(f"{category}:{kind}")
        case_reports = _case_reports(
            g, params, c, positive, kind, category, listed, listed_officers, agents, forwarders
        )
        noisy = int(positive) ^ int(g.rng.random() < params["label_noise"])
        for report in case_reports:
            labels[report["id"]] = noisy
            true_labels[report["id"]] = int(positive)
            case_of[report["id"]] = c
        reports.extend(case_reports)
    g.rng.shuffle(reports)
    return SyntheticWorld(
        reports=reports,
        labels=labels,
        true_labels=true_labels,
        case_of_report=case_of,
        case_kinds=kinds,
        screening_entries=listed,
        params=params,
    )


def generate(seed: int, n_cases: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """(reports, labels by report id) of a seeded synthetic benchmark."""
    world = generate_world(seed, n_cases)
    return world.reports, world.labels


def _poisson(g: _Gen, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= g.rng.random()
        if p <= limit:
            return k
        k += 1


def _case_reports(
    g: _Gen,
    params: dict[str, float],
    case_no: int,
    positive: bool,
    kind: str,
    category: str,
    listed: list[ScreeningEntry],
    listed_officers: list[str],
    agents: list[tuple[str, str]],
    forwarders: list[tuple[str, str]],
) -> list[dict[str, Any]]:
    rng = g.rng
    false_alarm = kind == "false_alarm"
    flag_p = {
        "blatant": params["flag_blatant"],
        "network": params["flag_blatant"] * 0.6,
        "quiet": params["flag_quiet"],
        "false_alarm": params["flag_false_alarm"],
    }.get(kind, params["flag_benign"])
    withhold = params["withhold_pos"] if positive else params["withhold_neg"]

    # the case's parties (shared by all its reports, spelled differently now and then)
    if positive:
        declared_country = rng.choice(HUBS) if kind != "quiet" else rng.choice((*HUBS, "IN", "VN"))
    elif kind == "hub_legit":
        declared_country = rng.choice(HUBS)
    else:
        declared_country = rng.choice(BENIGN_DEST + HUBS[:2])
    consignee_country = declared_country if rng.random() < 0.6 else rng.choice(HUBS)
    consignee = g.org(consignee_country)
    consignee_address = g.address(consignee_country)
    declared = consignee if rng.random() < 0.5 else g.org(declared_country)
    suspected: tuple[str, str] | None = None
    p_suspected = {
        "blatant": params["suspected_blatant"],
        "network": 0.4,
        "quiet": params["suspected_quiet"],
    }.get(kind, 0.02)
    if rng.random() < p_suspected:
        dest = rng.choice(DIVERSION_DEST) if positive else rng.choice(BENIGN_DEST)
        suspected = (g.org(dest), dest)
    officers: list[str] = []
    organisations = [e for e in listed if e.type == "Entity"]
    listed_entry = organisations[rng.randrange(len(organisations))]
    if kind == "blatant" and rng.random() < params["listed_alias_blatant"]:
        consignee = g.variant(listed_entry.name)
    if kind == "network":
        link = rng.choice(("officer", "address", "end_user"))
        if link == "officer":
            officers.append(rng.choice(listed_officers))
        elif link == "address" and listed_entry.addresses:
            consignee_address = listed_entry.addresses[0].address or consignee_address
            consignee_country = listed_entry.addresses[0].country or consignee_country
        else:
            suspected = (g.variant(listed_entry.name), listed_entry.addresses[0].country or "CN")
    if kind == "formation_agent":
        consignee_address, consignee_country = rng.choice(agents)
    if kind == "near_miss":
        consignee = g.near_miss(listed_entry.name)
    if rng.random() < 0.3:
        officers.append(g.person())

    controlled = rng.random() < (params["controlled_pos"] if positive else params["controlled_neg"])
    model, price = rng.choice(CONTROLLED_CHIPS if controlled else OTHER_CHIPS)
    median = {"quiet": 400, "hub_legit": 1500, "ordinary": 48}.get(kind, 160)
    quantity = max(1, int(rng.lognormvariate(math.log(median), 0.9)))
    price_factor = rng.uniform(0.85, 1.2)
    if positive and rng.random() < 0.4:
        price_factor *= rng.choice((rng.uniform(1.4, 2.5), rng.uniform(0.25, 0.6)))
    value = int(quantity * price * price_factor)
    route = ["US"]
    if rng.random() < (0.7 if positive else 0.4):
        route.append(rng.choice(HUBS))
    route.append(declared_country)
    if suspected and rng.random() < 0.5:
        route.append(suspected[1])
    route = [c for i, c in enumerate(route) if i == 0 or c != route[i - 1]]
    shipment_ref = f"SR-{case_no:06d}-{rng.randrange(1000):03d}"
    serials = [f"{rng.choice('ABCDEFGH')}{rng.randrange(10**9):09d}" for _ in range(3)]
    forwarder = rng.choice(forwarders)
    base_day = REFERENCE_TIME - timedelta(days=rng.uniform(5, 720))

    n_reports = 1 + _poisson(g, params["extra_reports_pos" if positive else "extra_reports_neg"])
    origins = rng.sample(NODES, k=min(len(NODES), n_reports))
    out: list[dict[str, Any]] = []
    for r, origin in enumerate(origins):
        rel, cred = _grade(g, positive, false_alarm)
        flags = [f for f in RED_FLAGS if rng.random() < flag_p]
        if kind == "hub_legit" and rng.random() < params["flag_hub_forwarder"]:
            flags.append("freight_forwarder_consignee")
        if kind == "quiet" and not flags and rng.random() < 0.3:
            flags.append(rng.choice(("unusual_routing", "third_country_payment")))

        def keep(p_missing: float = withhold) -> bool:
            return rng.random() >= p_missing

        spelled = consignee if r == 0 or rng.random() < 0.7 else g.variant(consignee)
        reported_at = base_day + timedelta(days=rng.uniform(0, 30) + 3 * r)
        details: dict[str, Any]
        if category == "chip_diversion":
            details = {
                "items": [
                    {"model": model, "quantity": quantity, "serials": serials if keep() else []}
                ],
                "declared_end_user": {"name": declared, "country": declared_country}
                if keep()
                else None,
                "suspected_end_user": {"name": suspected[0], "country": suspected[1]}
                if suspected and (r == 0 or rng.random() < 0.6)
                else None,
                "consignee": {
                    "name": spelled,
                    "address": consignee_address if keep() else None,
                    "country": consignee_country,
                },
                "intermediaries": [
                    {
                        "name": forwarder[0],
                        "address": None,
                        "country": forwarder[1],
                        "role": "freight_forwarder",
                    }
                ]
                if rng.random() < 0.5
                else [],
                "route": route if keep() else [],
                "value_usd": value if keep() else None,
                "eccn": ("3A090.a" if controlled else None) if keep(0.5) else None,
                "shipment_ref": shipment_ref if r == 0 or rng.random() < 0.6 else None,
                "red_flags": sorted(set(flags)),
            }
            if kind in ("blatant", "network") and rng.random() < 0.3:
                details["intermediaries"].append(
                    {
                        "name": g.org(rng.choice(HUBS)),
                        "address": None,
                        "country": rng.choice(HUBS),
                        "role": rng.choice(("shell", "reseller")),
                    }
                )
        elif category == "military_ai":
            org_country = rng.choice(DIVERSION_DEST) if positive else rng.choice(BENIGN_DEST)
            flop = 10 ** rng.uniform(24.5, 26.3) if positive else 10 ** rng.uniform(23.0, 25.8)
            capability = rng.choice(
                (
                    "automatic target recognition for unmanned systems",
                    "battlefield situational awareness models",
                    "swarm autonomy research",
                )
                if positive
                else (
                    "large language model pre-training",
                    "protein structure prediction",
                    "weather forecasting foundation model",
                    "drone delivery routing",
                )
            )
            details = {
                "organisation": {"name": spelled, "country": org_country},
                "capability": capability,
                "training_compute_flop": f"{flop:.2e}" if keep() else None,
                "chips_used": [{"model": model, "quantity": quantity * 8}] if keep() else [],
                "red_flags": sorted(set(flags)),
            }
        else:  # cloud compute
            customer_country = (
                rng.choice(("CN", "HK", "SG", "MY")) if positive else rng.choice(BENIGN_DEST + HUBS)
            )
            details = {
                "provider": {
                    "name": f"{g.word()} Cloud Services Ltd",
                    "country": rng.choice(("US", "SG", "MY", "AE")),
                },
                "customer": {
                    "name": spelled,
                    "country": customer_country,
                    "address": consignee_address if keep() else None,
                },
                "chips": [{"model": model, "quantity": quantity}] if keep() else [],
                "gpu_hours": int(quantity * rng.uniform(200, 4000)) if keep() else None,
                "red_flags": sorted(set(flags)),
            }
        entities: list[dict[str, Any]] = [
            {"kind": "person", "name": o, "country": None, "role": "officer"} for o in officers
        ]
        if kind == "formation_agent" or (rng.random() < 0.2 and keep()):
            entities.append(
                {
                    "kind": "address",
                    "name": consignee_address,
                    "country": consignee_country,
                    "role": "registered_address",
                }
            )
        report = {
            "id": g.uuid(),
            "version": 1,
            "origin": origin,
            "title": f"Synthetic report {case_no}-{r}",
            "summary": "Synthetic record for benchmarking. Not a real event.",
            "category": category,
            "status": "published",
            "event_start": base_day.date().isoformat() if keep() else None,
            "event_end": None,
            "reported_at": reported_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source_reliability": rel,
            "info_credibility": cred,
            "markings": _markings(),
            "relayed_by": [],
            "details": details,
            "entities": entities,
        }
        out.append(report)
        if rng.random() < (0.3 if false_alarm else 0.01):  # retracted later: a tombstone
            out.append({**report, "version": 2, "status": "withdrawn", "relayed_by": []})
        if rng.random() < params["relay_rate"]:
            others = [n for n in NODES if n != origin]
            for node in rng.sample(others, k=rng.randint(1, 3)):
                out.append({**report, "relayed_by": [node]})
    return out
