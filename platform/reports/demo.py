"""Demo reports: realistic in shape, invented in every name. Deterministic per node and seed.

Chip models and routes follow the patterns in public enforcement summaries (transshipment through
Singapore, Malaysia, Thailand, Hong Kong and the UAE); every organisation name is made up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.nodes import NODE_DIRECTORY

from .services import ReportContent

CHIPS = [
    "H100 SXM",
    "H800 SXM",
    "A100 SXM",
    "A800",
    "H20",
    "L40S",
    "MI300X",
    "Gaudi 3",
    "Ascend 910B",
    "H200",
]
ROUTES = [
    ["US", "SG", "MY", "CN"],
    ["US", "TW", "HK", "CN"],
    ["US", "AE", "CN"],
    ["NL", "SG", "TH", "CN"],
    ["US", "MY", "CN"],
    ["JP", "HK", "CN"],
    ["US", "SG", "VN"],
    ["US", "AE", "RU"],
    ["DE", "TR", "RU"],
    ["US", "IN"],
    ["US", "JP"],
    ["KR", "HK", "CN"],
]
PREFIXES = [
    "Lumen",
    "Harbor",
    "Apex",
    "Sunrise",
    "Blue Crane",
    "Meridian",
    "Orchid",
    "Golden Delta",
    "Vantage",
    "Silverline",
    "Jade Gate",
    "Northwind",
    "Pacific Arc",
    "Kestrel",
    "Tidal",
]
SUFFIXES = [
    "Trading Pte Ltd",
    "Logistics Sdn Bhd",
    "Technology Co., Ltd",
    "Global FZE",
    "Electronics Ltd",
    "Supply Chain Ltd",
    "Computing LLC",
    "Systems Co.",
]
STREETS = [
    "Jalan Ampang",
    "Nathan Road",
    "Sheikh Zayed Road",
    "Changi South Lane",
    "Sukhumvit Soi",
    "Des Voeux Road",
    "Jurong West Street",
]
LABS = [
    "Institute of Intelligent Systems",
    "Advanced Computing Research Centre",
    "Autonomy Engineering Academy",
    "Joint Cognitive Warfare Laboratory",
    "Strategic Algorithms Bureau",
]
RED_FLAGS = [
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
]
PROVIDERS = ["Nimbus Grid Cloud", "Stratus Arc Compute", "Helios Rack Services"]


@dataclass(frozen=True)
class DemoReport:
    content: ReportContent
    publish: bool


def _company(rng: random.Random) -> str:
    return f"{rng.choice(PREFIXES)} {rng.choice(SUFFIXES)}"


def _address(rng: random.Random) -> str:
    unit = f"{rng.randint(1, 40):02d}-{rng.randint(1, 20):02d}"
    return f"{rng.randint(1, 240)} {rng.choice(STREETS)}, Unit {unit}"


def _rel_to(rng: random.Random, origin: str) -> list[str]:
    options = [["fvey", "eu", "jp"], ["fvey"], ["fvey", "jp"], [origin, "uk"], ["fvey", "eu"]]
    choice = list(rng.choice(options))
    if origin not in NODE_DIRECTORY.expand(choice):
        choice.append(origin)
    return choice


def _markings(rng: random.Random, origin: str) -> dict[str, Any]:
    classification = rng.choices(
        ["OFFICIAL", "RESTRICTED", "CONFIDENTIAL", "SECRET"], weights=[4, 3, 3, 1]
    )[0]
    tlp = rng.choice(["green", "amber", "amber"]) if classification == "OFFICIAL" else "amber"
    orcon = classification == "SECRET" and rng.random() < 0.3
    if orcon:
        tlp = "amber+strict"
    return {
        "classification": classification,
        "rel_to": _rel_to(rng, origin),
        "orcon": orcon,
        "tlp": tlp,
    }


def _chip_report(rng: random.Random, origin: str, consignees: list[str], day: date) -> DemoReport:
    route = list(rng.choice(ROUTES))
    chip = rng.choice(CHIPS)
    quantity = rng.choice([8, 16, 64, 120, 256, 480, 1024, 2000])
    consignee = rng.choice(consignees)
    hub = route[1] if len(route) > 2 else route[-1]
    flags = rng.sample(RED_FLAGS, k=rng.randint(0, 4))
    details: dict[str, Any] = {
        "items": [
            {
                "model": chip,
                "quantity": quantity,
                "serials": [
                    f"{chip[:2].upper()}{rng.randint(10**8, 10**9 - 1)}"
                    for _ in range(rng.randint(0, 3))
                ],
            }
        ],
        "consignee": {"name": consignee, "address": _address(rng), "country": hub},
        "intermediaries": [
            {
                "name": _company(rng),
                "country": rng.choice(["HK", "AE", "SG", "MY"]),
                "role": rng.choice(["freight_forwarder", "reseller", "shell"]),
            }
        ],
        "declared_end_user": {"name": _company(rng), "country": hub},
        "suspected_end_user": (
            {"name": rng.choice(LABS), "country": route[-1]} if route[-1] in {"CN", "RU"} else None
        ),
        "route": route,
        "value_usd": quantity * rng.choice([18_000, 25_000, 32_000, 40_000]),
        "eccn": "3A090.a" if chip not in {"H20"} else None,
        "shipment_ref": f"AWB-{rng.randint(100000, 999999)}",
        "red_flags": flags,
    }
    title = f"{quantity} × {chip} via {' → '.join(route[1:])} to {consignee}"
    return DemoReport(
        ReportContent(
            title=title[:200],
            summary=(
                f"Shipment of {quantity} {chip} accelerators declared for a data-centre "
                f"customer in {hub}; onward movement towards {route[-1]} suspected."
            ),
            category="chip_diversion",
            source_reliability=rng.choice("ABBCCD"),
            info_credibility=rng.choice([1, 2, 2, 3, 3, 4]),
            event_start=day,
            event_end=day + timedelta(days=rng.randint(0, 30)),
            details=details,
            **_markings(rng, origin),
        ),
        publish=rng.random() < 0.85,
    )


def _military_ai(rng: random.Random, origin: str, day: date) -> DemoReport:
    lab = rng.choice(LABS)
    flop = f"{rng.choice([2, 3, 5, 8])}.{rng.randint(0, 9)}e{rng.choice([24, 25, 25, 26])}"
    chip = rng.choice(["Ascend 910B", "H800 SXM", "A800", "H20", "H100 SXM"])
    return DemoReport(
        ReportContent(
            title=f"{lab}: training run for autonomous targeting model",
            summary=f"Reporting indicates a training run of about {flop} FLOP on {chip} clusters.",
            category="military_ai",
            source_reliability=rng.choice("BCC"),
            info_credibility=rng.choice([2, 3, 3, 4]),
            event_start=day,
            details={
                "organisation": {"name": lab, "country": rng.choice(["CN", "RU", "IR"])},
                "capability": rng.choice(
                    [
                        "autonomous target recognition",
                        "swarm coordination",
                        "signals triage",
                        "cyber-operations planning",
                    ]
                ),
                "training_compute_flop": flop,
                "chips_used": [{"model": chip, "quantity": rng.choice([512, 2048, 8192])}],
            },
            **_markings(rng, origin),
        ),
        publish=True,
    )


def _cloud(rng: random.Random, origin: str, consignees: list[str], day: date) -> DemoReport:
    customer = rng.choice(consignees)
    country = rng.choice(["SG", "MY", "AE"])
    return DemoReport(
        ReportContent(
            title=f"{customer} renting accelerator clusters for a third-country customer",
            summary=(
                "Rented compute paid from a third country; the workload resembles model "
                "distillation."
            ),
            category="cloud_compute",
            source_reliability=rng.choice("BC"),
            info_credibility=rng.choice([2, 3]),
            event_start=day,
            details={
                "provider": {"name": rng.choice(PROVIDERS), "country": country},
                "customer": {"name": customer, "country": country, "address": _address(rng)},
                "chips": [{"model": "H100 SXM", "quantity": rng.choice([256, 1024])}],
                "gpu_hours": rng.choice([50_000, 200_000, 1_500_000]),
                "red_flags": rng.sample(
                    ["third_country_payment", "evasive_end_use", "new_company"], k=2
                ),
            },
            **_markings(rng, origin),
        ),
        publish=True,
    )


def _general_details(rng: random.Random, category: str, lab: str) -> dict[str, Any]:
    """Category-specific facts, drawn so the demo's scores spread within each category."""
    details: dict[str, Any] = {
        "organisation": {"name": lab, "country": rng.choice(["CN", "RU", "KP", "SG", "DE"])},
        "description": "Invented demo content.",
        "red_flags": rng.sample(["evasive_end_use", "reluctant_information", "new_company"],
                                k=rng.choice([0, 0, 1, 2])),
    }  # fmt: skip
    if category == "model_weights":
        details.update(
            model_name=f"{lab.split()[0]}-{rng.randint(2, 9)}",
            training_compute_flop=f"{rng.randint(1, 9)}.0e{rng.choice([23, 24, 25, 26])}",
            channel=rng.choice(["leak", "theft", "unlicensed_transfer", "sale", "open_release"]),
            recipient={"name": rng.choice(LABS), "country": rng.choice(["CN", "RU", "AE", "FR"])},
        )
    elif category == "ai_incident":
        details.update(
            capabilities=rng.sample(
                ["self_replication", "vulnerability_exploitation", "detection_evasion",
                 "resource_acquisition"],
                k=rng.choice([0, 1, 1, 2, 3]),
            ),
            scale=rng.choice([1, 3, 40, 700]),
            actor={"name": lab, "type": rng.choice(["state", "company", "unknown"])},
        )  # fmt: skip
    return details


def _general(rng: random.Random, origin: str, day: date, category: str) -> DemoReport:
    lab = rng.choice(LABS)
    titles = {
        "model_weights": f"Closed model weights offered for sale by a broker linked to {lab}",
        "ai_incident": "Agent scaffold copied itself to a rented server during an evaluation",
        "other": f"Procurement notice from {lab} seeking high-bandwidth memory",
    }
    return DemoReport(
        ReportContent(
            title=titles[category],
            summary="See details; assessment pending corroboration from partners.",
            category=category,
            source_reliability=rng.choice("BCDF"),
            info_credibility=rng.choice([2, 3, 4, 6]),
            event_start=day,
            details=_general_details(rng, category, lab),
            **_markings(rng, origin),
        ),
        publish=rng.random() < 0.7,
    )


def demo_reports(origin: str, count: int = 48, seed: int = 7) -> list[DemoReport]:
    rng = random.Random(f"{origin}:{seed}")
    # A shared pool (seeded without the origin) so that nodes report on the same consignees.
    shared = random.Random(seed)
    consignees = [_company(shared) for _ in range(12)]
    start = date(2026, 1, 5)
    reports: list[DemoReport] = []
    for index in range(count):
        day = start + timedelta(days=rng.randint(0, 320))
        roll = index % 8
        if roll < 4:
            reports.append(_chip_report(rng, origin, consignees, day))
        elif roll == 4:
            reports.append(_military_ai(rng, origin, day))
        elif roll == 5:
            reports.append(_cloud(rng, origin, consignees, day))
        else:
            reports.append(
                _general(rng, origin, day, rng.choice(["model_weights", "ai_incident", "other"]))
            )
    return reports
