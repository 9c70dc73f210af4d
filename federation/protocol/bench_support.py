"""Realistic test envelopes and the per-envelope crypto round-trip rate.

`crypto_roundtrip_rate` is the crypto-only ceiling that end-to-end benchmarks compare their
delivered reports/s against (same machine, same run), so it lives in the package rather than
in a script.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .canonical import canonical_bytes, strict_loads
from .envelope import Markings, build_report_envelope, sign_origin, verify_envelope
from .errors import ProtocolError
from .keys import NodeKey, PublicKey, generate

_NODES = ("us", "uk", "ca", "au", "nz", "eu", "jp")
_HUBS = ("ae-dxb", "sg-sin", "hk-hkg", "my-pkg", "tr-ist", "kz-ala", "am-evn")
_ITEMS = (
    ("3A090.a", "H100-class accelerator module"),
    ("4A090.a", "GPU server, 8 accelerators"),
    ("3A001.z", "High-bandwidth memory stack"),
    ("5A992.c", "Network interface card, 400G"),
)
_FIRMS = ("Apex", "Orient", "Nova", "Silk", "Meridian")
_NOTES = (
    "Consignee address shared with a listed freight forwarder; invoices re-issued in transit.",
    "Zoë Ólafsdóttir (liaison) notes the end-user statement was signed after shipment.",
    "輸出管理: 最終需要者の確認書に不備。中継地で再梱包の疑い。",
    "Cloud tenancy paid in USDT; training jobs of ~4e24 FLOP reported by the provider.",
)


def make_payload(rng: random.Random, index: int, target_bytes: int = 1500) -> dict[str, Any]:
    """A diversion-report payload of about `target_bytes` canonical bytes (integers only)."""
    item_code, item_name = rng.choice(_ITEMS)
    payload: dict[str, Any] = {
        "schema": "fed.report.diversion/1",
        "title": f"Suspected transshipment of {item_name} #{index}",
        "category": "export_control_diversion",
        "source_reliability": rng.choice("ABCDEF"),
        "info_credibility": rng.randint(1, 6),
        "items": [
            {
                "eccn": item_code,
                "description": item_name,
                "quantity": rng.randint(8, 4096),
                "tpp": rng.randint(1600, 16000),
                "performance_density": rng.randint(2, 12),
            }
        ],
        "route": [rng.choice(_HUBS) for _ in range(rng.randint(2, 4))],
        "entities": [
            {
                "role": role,
                "name": f"{rng.choice(_FIRMS)} Trading {rng.randint(1, 99)}",
                "country": rng.choice(("ae", "sg", "hk", "my", "tr", "kz", "am")),
                "screening_hits": rng.randint(0, 3),
            }
            for role in ("consignee", "intermediary", "end_user")
        ],
        "observed_at": 1767225600 + rng.randint(0, 10_000_000),
        "note": rng.choice(_NOTES),
        "confidence": rng.randint(0, 100),
    }
    filler = target_bytes - len(canonical_bytes(payload)) - len(',"summary":""')
    payload["summary"] = ("Shipment details: " + "x" * max(0, filler))[: max(0, filler)]
    return payload


def make_envelopes(
    n: int, *, iss: str = "uk", seed: int = 8785, iat: int = 1767225600, payload_bytes: int = 1650
) -> list[dict[str, Any]]:
    """`n` unsigned ``fed.report`` envelopes of about 2 KiB once signed (deterministic)."""
    rng = random.Random(seed)
    envelopes = []
    for i in range(n):
        rel = rng.sample([c for c in _NODES if c != iss], k=rng.randint(1, 5))
        markings = Markings.of(
            rng.choice(("OFFICIAL", "RESTRICTED", "CONFIDENTIAL", "SECRET")),
            [*rel, "fvey"] if rng.random() < 0.3 else rel,
            rng.random() < 0.2,
            rng.choice(("clear", "green", "amber", "amber+strict", "red")),
        )
        envelopes.append(
            build_report_envelope(
                iss=iss,
                iat=iat + i,
                markings=markings,
                payload=make_payload(rng, i, payload_bytes),
                report_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            )
        )
    return envelopes


def crypto_roundtrip_rate(envelopes: Sequence[Mapping[str, Any]]) -> float:
    """Envelopes per second, one thread, for the full per-envelope crypto round trip:
    canonicalise + sign, serialise, strict parse, verify (keys generated outside the timing).
    """
    if not envelopes:
        raise ValueError("need at least one envelope")
    keys: dict[str, NodeKey] = {}
    for env in envelopes:
        iss = env["iss"]
        if iss not in keys:
            keys[iss] = generate(iss, "report")
    public: dict[tuple[str, str], PublicKey] = {(k.node, k.kid): k.public for k in keys.values()}

    def resolve(node: str, kid: str, at_time: int) -> PublicKey:
        try:
            return public[(node, kid)]
        except KeyError:
            raise ProtocolError("unknown_key", "benchmark key not found") from None

    now = max(int(env["iat"]) for env in envelopes)
    start = time.perf_counter()
    for env in envelopes:
        wire = canonical_bytes(sign_origin(env, keys[env["iss"]]))
        verify_envelope(strict_loads(wire), resolve, now)
    elapsed = time.perf_counter() - start
    return len(envelopes) / elapsed
