"""Field errors as one flat mapping of dotted paths, e.g. {"details.items.0.quantity": [...]}."""

from __future__ import annotations

from typing import Any


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested DRF/Django error detail to {dotted.field.path: [messages]}."""
    result: dict[str, list[str]] = {}

    def walk(path: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{path}.{key}" if path else str(key), value)
        elif isinstance(node, list | tuple) and all(isinstance(n, str) for n in node):
            if node:
                result.setdefault(path or "detail", []).extend(str(n) for n in node)
        elif isinstance(node, list | tuple):
            for index, value in enumerate(node):
                if value:
                    walk(f"{path}.{index}" if path else str(index), value)
        else:
            result.setdefault(path or "detail", []).append(str(node))

    walk(prefix, detail)
    return result
