"""Constants and helpers shared by the protocol tests (imported by name: unique module name)."""

from __future__ import annotations

from collections.abc import Callable

from federation.protocol.errors import ProtocolError
from federation.protocol.keys import NodeKey, PublicKey

NOW = 1_800_000_000
REPORT_ID = "5b0f9d7e-3a8c-4c55-9b61-0c2f4a7e9d11"


def static_resolver(*keys: NodeKey) -> Callable[[str, str, int], PublicKey]:
    """resolve_key over a fixed set of keys (no validity times: those are manifest tests)."""
    table = {(k.node, k.kid): k.public for k in keys}

    def resolve(node: str, kid: str, at_time: int) -> PublicKey:
        try:
            return table[(node, kid)]
        except KeyError:
            raise ProtocolError("unknown_key", f"{kid} unknown") from None

    return resolve
