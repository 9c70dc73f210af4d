"""The allied node directory: codes, display names and groups. Plain Python, no Django."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

NODE_CODE_PATTERN = re.compile(r"^[a-z]{2,8}$")


@dataclass(frozen=True)
class KnownNode:
    code: str
    name: str
    groups: tuple[str, ...]
    country: str  # ISO 3166 alpha-2, or "EU"


class NodeDirectory:
    """The nodes and groups a releasability list may name."""

    def __init__(self, nodes: Iterable[KnownNode]) -> None:
        self._nodes = {node.code: node for node in nodes}
        self._order = list(self._nodes)

    def get(self, code: str) -> KnownNode | None:
        return self._nodes.get(code)

    def codes(self) -> list[str]:
        return list(self._order)

    def index_of(self, code: str) -> int:
        return self._order.index(code) if code in self._nodes else len(self._order)

    def groups(self) -> dict[str, frozenset[str]]:
        result: dict[str, set[str]] = {}
        for node in self._nodes.values():
            for group in node.groups:
                result.setdefault(group, set()).add(node.code)
        return {group: frozenset(members) for group, members in result.items()}

    def is_known(self, token: str) -> bool:
        return token in self._nodes or token in self.groups()

    def expand(self, tokens: Iterable[str]) -> frozenset[str]:
        """Node codes named by a REL TO list, with groups expanded to their members."""
        groups = self.groups()
        result: set[str] = set()
        for token in tokens:
            if token in groups:
                result |= groups[token]
            elif token in self._nodes:
                result.add(token)
        return frozenset(result)


NODE_DIRECTORY = NodeDirectory(
    [
        KnownNode("us", "United States", ("fvey",), "US"),
        KnownNode("uk", "United Kingdom", ("fvey",), "GB"),
        KnownNode("ca", "Canada", ("fvey",), "CA"),
        KnownNode("au", "Australia", ("fvey",), "AU"),
        KnownNode("nz", "New Zealand", ("fvey",), "NZ"),
        KnownNode("eu", "European Union", (), "EU"),
        KnownNode("jp", "Japan", (), "JP"),
    ]
)


def validate_node_code(code: str) -> str:
    if not NODE_CODE_PATTERN.match(code):
        raise ValueError(f"node code must be 2-8 lowercase letters, got {code!r}")
    return code
