"""Synthetic reports with known cases, for measuring grouping (record linkage) quality.

Specification (written before, and independently of, the linkage code; it names no weight,
threshold or field comparison of the linkage):

A *case* is one physical event: a chip shipment (most cases), a cloud-compute rental or a
military-AI programme. Several allied nodes report the same event, each in its own words; the
task is to recover which reports describe the same event.

1. Companies. Names are built as real ones are, from a small vocabulary: a stem (one of ~40,
   e.g. "Golden Bridge", "Apex", "Orient"), one or two generic words (Technology, Logistics,
   Trading, Computing, ...) and a legal form (Co., Ltd., Pte Ltd, LLC, Sdn Bhd, FZE, ...), with a
   country among transit hubs. The vocabulary is small on purpose: distinct companies share
   exact names (in the same or other countries), and many share a stem. A share of companies is
   registered at one of a few formation-agent addresses used by hundreds of others; the rest have
   their own street address. A company can have an alias (another invented name).
2. Events. Each case picks a company (companies receive several unrelated shipments over time,
   so one name appears in several cases), a date uniform over two years, a chip model (skewed:
   a few models are common), a quantity from common round numbers, a set of serial numbers, a
   shipment reference, a route (exporter, one to three transit hubs, destination), a freight
   forwarder from a small pool (each serves thousands of shipments) and a declared end user,
   either invented for the shipment or taken from a small pool of generic declared end users
   used by unrelated shipments.
3. Reports. The number of reports per case is skewed (about a third single reports, a few cases
   with ten or more). Each report withholds fields independently (serials, reference, address,
   quantity, route, date, country, forwarder, declared end user), writes the name with
   variations (upper case, legal-form change, word-order change, typo, Cyrillic
   transliteration, abbreviation of a generic word, run-together words, or the alias), jitters
   the date by a few days, may list only a subset of serials and a partial quantity, and may be
   relayed: the same report id and content arrives again from another node.
4. One classification per case (a case's reports share it).

The generator is seeded and deterministic; ``World.case_of`` is the ground truth.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

STEMS = (
    "Golden Bridge", "Apex", "Orient", "Silver Star", "Great Wall", "Pacific Rim", "Sun Rise",
    "Blue Ocean", "Dragon Gate", "Jade River", "Star Light", "Red Lotus", "Eastern Pearl",
    "Summit", "Horizon", "Pinnacle", "Evergreen", "Harmony", "Phoenix", "Crystal", "Unity",
    "Zenith", "Lucky Star", "Silk Road", "New Era", "Bright Future", "Royal", "Prime",
    "Fortune", "Crown", "Delta", "Nova", "Vertex", "Matrix", "Quantum", "Titan", "Falcon",
    "Lion City", "Kowloon Bay", "Emerald",
)  # fmt: skip
GENERIC = (
    "Technology", "Logistics", "Trading", "Computing", "Electronics", "Systems", "Industrial",
    "Supply Chain", "International", "Solutions", "Digital", "Semiconductor", "Data",
    "Holdings", "Global",
)  # fmt: skip
ABBREVIATIONS = {"Technology": "Tech", "International": "Intl", "Electronics": "Elec",
                 "Industrial": "Ind", "Semiconductor": "Semi"}  # fmt: skip
LEGAL = ("Co., Ltd.", "Pte Ltd", "Limited", "LLC", "Sdn Bhd", "FZE", "Inc.", "GmbH", "Corp.")
LEGAL_SWAP = {"Co., Ltd.": "Company Limited", "Pte Ltd": "Pte. Ltd.", "Limited": "Ltd",
              "LLC": "L.L.C.", "Sdn Bhd": "Sdn. Bhd.", "FZE": "F.Z.E.", "Inc.": "Incorporated",
              "GmbH": "G.m.b.H.", "Corp.": "Corporation"}  # fmt: skip
HUBS = ("SG", "MY", "HK", "AE", "TH", "VN", "IN", "TR", "KZ", "AM", "ID", "PH")
MODELS = (("H100 SXM", 30), ("H200", 15), ("A100 80GB", 20), ("H800", 8), ("L40S", 10),
          ("MI300X", 7), ("Ascend 910B", 5), ("Gaudi 3", 5))  # fmt: skip
QUANTITIES = (8, 16, 24, 32, 48, 64, 96, 128, 160, 256, 320, 480, 512, 640, 1000, 1024, 2048)
FORWARDER_STEMS = (
    "Kesh", "Harbour", "Swift", "Blue Line", "Transglobe", "Oceanic", "Rapid", "Meridian", "Atlas",
    "Northstar", "Seagate", "Skyway", "Pioneer", "Anchor", "Beacon", "Compass", "Gateway",
    "Keystone", "Landmark", "Mariner",
)  # fmt: skip
FORWARDERS = tuple(
    f"{stem} {kind} {legal}"
    for stem, kind, legal in zip(
        FORWARDER_STEMS,
        ("Freight", "Logistics", "Shipping", "Cargo", "Express") * 4,
        LEGAL * 3,
        strict=False,
    )
)
DECLARED_POOL = (
    "University Research Centre", "National Data Centre", "Smart City Project Office",
    "Regional Cloud Services", "AI Research Lab", "Telecom Operator", "Bank Data Centre",
    "Weather Modelling Institute", "Oil and Gas Analytics", "Hospital Imaging Network",
)  # fmt: skip
FORMATION_AGENTS = (
    ("1 Raffles Place #20-61", "SG"), ("Unit 2A, 17/F, Bank Tower, 9 Queen's Road", "HK"),
    ("Office 1203, Business Bay Tower", "AE"), ("Level 15, Menara Ilham, Jalan Binjai", "MY"),
    ("60 Paya Lebar Road #07-54", "SG"), ("Room 1501, Grand Millennium Plaza", "HK"),
    ("P.O. Box 4422, Free Zone", "AE"), ("Suite 8, 24 Sukhumvit Road", "TH"),
)  # fmt: skip
STREETS = (
    "Harbour",
    "Orchard",
    "Nathan",
    "Sheikh Zayed",
    "Ampang",
    "Le Loi",
    "Nehru",
    "Istiklal",
    "Abai",
    "Mashtots",
    "Sudirman",
    "Ayala",
    "Jurong",
    "Kallang",
    "Tuas",
)
# how a Russian-language report would spell Latin letters (phonetic, not letter for letter)
CYRILLIC = {"a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х",
            "i": "и", "j": "дж", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п",
            "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "x": "кс",
            "y": "и", "z": "з"}  # fmt: skip
LEVELS = (("RESTRICTED", 5), ("CONFIDENTIAL", 3), ("SECRET", 2))
NODES = ("us", "gb", "ca", "au", "nz", "jp", "de", "fr")


@dataclass(frozen=True)
class Company:
    name: str
    institute: str  # how the company's research arm is named (military-AI cases)
    alias: str | None
    country: str
    address: str


@dataclass
class World:
    reports: list[dict[str, Any]] = field(default_factory=list)
    case_of: dict[str, int] = field(default_factory=dict)  # report id -> true case


def _weighted(rnd: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rnd.choices([o for o, _ in options], [w for _, w in options])[0]


def _company(rnd: random.Random) -> Company:
    words = [rnd.choice(STEMS), *rnd.sample(GENERIC, rnd.choice((1, 1, 1, 2)))]
    name = " ".join(words) + " " + rnd.choice(LEGAL)
    if rnd.random() < 0.2:
        address, country = rnd.choice(FORMATION_AGENTS)
    else:
        country = rnd.choice(HUBS)
        address = f"{rnd.randint(1, 400)} {rnd.choice(STREETS)} Road, Unit {rnd.randint(1, 99)}"
    alias = None
    if rnd.random() < 0.15:
        alias = " ".join(
            (rnd.choice(STEMS), rnd.choice(GENERIC), rnd.choice(LEGAL))
        )  # an unrelated-looking trade name
    institute = f"{words[0]} {rnd.choice(('Research Institute', 'Institute of Technology'))}"
    return Company(name, institute, alias, country, address)


def _typo(rnd: random.Random, text: str) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 4:
        return text
    i = rnd.choice(letters[1:-1])
    kind = rnd.randrange(3)
    if kind == 0 and text[i + 1 : i + 2].isalpha():
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    return text[:i] + rnd.choice(string.ascii_lowercase) + text[i + 1 :]


def _cyrillic(text: str) -> str:
    out = []
    for c in text:
        low = CYRILLIC.get(c.lower(), c)
        out.append(low.upper() if c.isupper() and len(low) == 1 else low)
    return "".join(out)


def _variant(rnd: random.Random, company: Company, kind: str) -> str:
    """How one node writes the company's name."""
    name = company.institute if kind == "military_ai" else company.name
    if company.alias and kind != "military_ai" and rnd.random() < 0.3:
        name = company.alias
    if rnd.random() < 0.35:
        return name
    for _ in range(rnd.choice((1, 1, 2))):
        edit = rnd.randrange(8)
        words = name.split()
        if edit == 0:
            name = name.upper()
        elif edit == 1:
            for legal, swap in LEGAL_SWAP.items():
                if name.endswith(legal):
                    name = name[: -len(legal)] + swap
                    break
        elif edit == 2 and len(words) >= 3:
            words[0], words[1] = words[1], words[0]
            name = " ".join(words)
        elif edit == 3:
            name = _typo(rnd, name)
        elif edit == 4:
            name = _cyrillic(name)
        elif edit == 5:
            for long, short in ABBREVIATIONS.items():
                name = name.replace(long, short)
        elif edit == 6 and len(words) >= 2:
            name = words[0] + words[1] + " " + " ".join(words[2:])
        else:
            name = " ".join(w for w in words if w.rstrip(".,") not in ("Ltd", "Co", "Pte", "LLC"))
    return name


def _serial(rnd: random.Random) -> str:
    return "".join(rnd.choices(string.ascii_uppercase + string.digits, k=10))


def _case_size(rnd: random.Random) -> int:
    return rnd.choices((1, 2, 3, 4, 5, 6, 8, 10, 14), (34, 24, 15, 9, 6, 5, 4, 2, 1))[0]


def generate(seed: int, n_cases: int = 5000) -> World:
    rnd = random.Random(seed)
    companies = [_company(rnd) for _ in range(int(n_cases * 0.55))]
    start = date(2025, 1, 1)
    world = World()
    counter = 0
    for case in range(n_cases):
        company = rnd.choice(companies)
        day = start + timedelta(days=rnd.randrange(730))
        model = _weighted(rnd, MODELS)
        quantity = rnd.choice(QUANTITIES)
        serials = [_serial(rnd) for _ in range(min(quantity, rnd.choice((2, 4, 8, 16))))]
        ref = f"{rnd.choice(('AWB', 'BL', 'SR'))}-{rnd.randrange(10**5, 10**7)}"
        transit = rnd.sample(HUBS, rnd.choice((1, 1, 2, 3)))
        route = ["US", *transit] + ([company.country] if company.country not in transit else [])
        forwarder = rnd.choice(FORWARDERS)
        if rnd.random() < 0.5:
            declared = rnd.choice(DECLARED_POOL)
        else:
            declared = f"{rnd.choice(STEMS)} {rnd.choice(('Research', 'Cloud', 'Labs'))} Centre"
        level = _weighted(rnd, LEVELS)
        kind = rnd.choices(("chip_diversion", "cloud_compute", "military_ai"), (85, 10, 5))[0]
        for _ in range(_case_size(rnd)):
            counter += 1
            rid = f"r{seed}-{counter:06d}"
            report = _report(rnd, rid, kind, company, day, model, quantity, serials, ref, route,
                             forwarder, declared, level)  # fmt: skip
            world.reports.append(report)
            world.case_of[rid] = case
            if rnd.random() < 0.1:
                world.reports.append({**report, "relayed_by": [rnd.choice(NODES)]})
    rnd.shuffle(world.reports)
    return world


def _keep(rnd: random.Random, p_withheld: float) -> bool:
    return rnd.random() >= p_withheld


def _report(
    rnd: random.Random,
    rid: str,
    kind: str,
    company: Company,
    day: date,
    model: str,
    quantity: int,
    serials: list[str],
    ref: str,
    route: list[str],
    forwarder: str,
    declared: str,
    level: str,
) -> dict[str, Any]:
    party: dict[str, Any] = {"name": _variant(rnd, company, kind)}
    party["country"] = company.country if _keep(rnd, 0.1) else None
    party["address"] = company.address if _keep(rnd, 0.4) else None
    qty = quantity if _keep(rnd, 0.1) else max(1, quantity // rnd.choice((2, 4)))
    event = day + timedelta(days=rnd.choice((0, 0, 0, 1, -1, 2, 3))) if _keep(rnd, 0.1) else None
    if kind == "chip_diversion":
        item: dict[str, Any] = {"model": model, "quantity": qty}
        if _keep(rnd, 0.5):
            item["serials"] = rnd.sample(serials, rnd.randint(1, len(serials)))
        details: dict[str, Any] = {"items": [item], "consignee": party}
        if _keep(rnd, 0.4):
            details["shipment_ref"] = ref
        if _keep(rnd, 0.3):
            details["route"] = route
        if _keep(rnd, 0.5):
            details["intermediaries"] = [
                {"name": forwarder, "country": "HK", "role": "freight_forwarder"}
            ]
        if _keep(rnd, 0.4):
            details["declared_end_user"] = {"name": declared, "country": company.country}
    elif kind == "cloud_compute":
        details = {
            "provider": {"name": "Nimbus Cloud Services", "country": "US"},
            "customer": party,
            "chips": [{"model": model, "quantity": qty}],
            "gpu_hours": qty * 720,
        }
    else:
        details = {
            "organisation": party,
            "capability": "large model training",
            "chips_used": [{"model": model, "quantity": qty}],
        }
    return {
        "id": rid,
        "version": 1,
        "origin": rnd.choice(NODES),
        "title": f"{qty} x {model}",
        "category": kind,
        "status": "published",
        "event_start": event.isoformat() if event else None,
        "markings": {"classification": level},
        "relayed_by": [],
        "details": details,
        "entities": [],
    }
