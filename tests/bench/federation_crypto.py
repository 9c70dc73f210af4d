#!/usr/bin/env python3
"""Per-core cost of the federation's envelope crypto, on ~2 KiB realistic reports.

Run from the repository root:  python tests/bench/federation_crypto.py [--n 5000] [--runs 3]

Measures, pinned to one CPU, each figure the median of `--runs` passes over the same N
envelopes:

* sign: canonicalise + Ed25519 sign (`sign_origin`);
* verify: strict parse of the wire bytes + structure checks + canonicalise + Ed25519 verify;
* roundtrip: canonicalise + sign + serialise + strict parse + verify
  (`federation.protocol.bench_support.crypto_roundtrip_rate`, which end-to-end benchmarks import
  to report their delivered rate as a fraction of this ceiling).

Baselines measured in the same run (raw Ed25519 sign/verify of 2 KiB, plain json.loads) show how
much of each figure is the primitive itself. The last line is machine-readable:

    RESULT federation_crypto envelopes=5000 sign_per_s=... verify_per_s=... roundtrip_per_s=...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
for entry in (REPO_ROOT, REPO_ROOT / "platform"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from federation.protocol.bench_support import (  # noqa: E402
    crypto_roundtrip_rate,
    make_envelopes,
)
from federation.protocol.canonical import canonical_bytes, strict_loads  # noqa: E402
from federation.protocol.envelope import sign_origin, verify_envelope  # noqa: E402
from federation.protocol.keys import PublicKey, generate  # noqa: E402


def pin_to_one_core() -> str:
    """Per-core figures: restrict this process to a single CPU where the OS allows it."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})
    except (AttributeError, OSError) as exc:
        return f"not pinned ({exc})"
    return f"pinned to CPU {cpus[0]} of {cpus}"


def per_second(items: Sequence[Any], fn: Callable[[Any], object]) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - start)


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    measure()  # warm-up: imports, caches, CPU frequency
    figures = [measure() for _ in range(runs)]
    return statistics.median(figures), figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=5000, help="number of envelopes")
    parser.add_argument("--runs", type=int, default=3, help="passes per figure (median)")
    args = parser.parse_args()

    print(f"load average at start: {os.getloadavg()}")
    print(f"affinity: {pin_to_one_core()}")
    envelopes = make_envelopes(args.n)
    key = generate("uk", "report")
    signed = [sign_origin(env, key) for env in envelopes]
    wires = [canonical_bytes(env) for env in signed]
    sizes = sorted(len(w) for w in wires)
    print(
        f"envelopes: {args.n}, wire bytes min/median/max: "
        f"{sizes[0]}/{sizes[len(sizes) // 2]}/{sizes[-1]}"
    )

    def resolve(node: str, kid: str, at_time: int) -> PublicKey:
        return key.public

    now = max(env["iat"] for env in envelopes)
    message = (wires[0] * 2)[:2048]
    raw_sig = key.sign(message)

    def row(name: str, measure: Callable[[], float]) -> float:
        med, figures = median_of(args.runs, measure)
        print(
            f"  {name:58s} {med:10,.0f}/s  {1e6 / med:7.1f} us  "
            f"runs: {', '.join(f'{f:,.0f}' for f in figures)}"
        )
        return med

    print(f"\nper-core rates (median of {args.runs} passes over {args.n} items)")
    ed_sign = row(
        "baseline: Ed25519 sign, 2 KiB", lambda: per_second(wires, lambda _: key.sign(message))
    )
    ed_verify = row(
        "baseline: Ed25519 verify, 2 KiB",
        lambda: per_second(wires, lambda _: key.public.verify(raw_sig, message)),
    )
    row("baseline: json.loads of the wire bytes", lambda: per_second(wires, json.loads))
    row("strict_loads alone", lambda: per_second(wires, strict_loads))
    sign = row(
        "sign: canonicalise + Ed25519 (sign_origin)",
        lambda: per_second(envelopes, lambda e: sign_origin(e, key)),
    )
    verify = row(
        "verify: strict parse + checks + canonicalise + Ed25519",
        lambda: per_second(wires, lambda w: verify_envelope(strict_loads(w), resolve, now)),
    )
    roundtrip = row(
        "roundtrip: sign + serialise + parse + verify", lambda: crypto_roundtrip_rate(envelopes)
    )

    print(f"\nsign_origin takes {ed_sign / sign:.2f}x the time of a raw Ed25519 sign")
    print(f"parse + verify_envelope takes {ed_verify / verify:.2f}x the time of a raw verify")
    print(
        f"roundtrip per envelope: {1e6 / roundtrip:.0f} us; the 1,000 reports/s end-to-end "
        f"target on 2 cores needs {1000 / (2 * roundtrip):.1%} of this ceiling"
    )
    print(
        f"RESULT federation_crypto envelopes={args.n} sign_per_s={sign:.0f} "
        f"verify_per_s={verify:.0f} roundtrip_per_s={roundtrip:.0f}"
    )


if __name__ == "__main__":
    main()
