"""A key ceremony inside a test: the offline root stands in memory (never in the node's data
directory), signs a short series for the node's online keys, and the node imports it."""

from __future__ import annotations

import time

from federation.protocol.ceremony import series_document, sign_series
from federation.protocol.keys import NodeKey, generate
from federation.services import keys

_roots: dict[str, NodeKey] = {}


def session_root(node: str) -> NodeKey:
    """One root per node code for the whole test session."""
    if node not in _roots:
        _roots[node] = generate(node, "root")
    return _roots[node]


def run_ceremony(*, windows: int = 2, start: int | None = None) -> NodeKey:
    """Sign and import a series for this node; returns the root that signed it."""
    from core.selectors import this_node

    root = session_root(this_node().code)
    request = keys.ceremony_request()
    at = int(time.time()) - 60 if start is None else start
    keys.import_series(series_document(sign_series(request, root, start=at, windows=windows), root))
    return root
