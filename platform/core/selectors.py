from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from .models import NodeIdentity

# The identity is read on every release and receipt; it changes almost never. Cached per
# process for a few seconds, and dropped at once in the process that changes it.
_CACHE_SECONDS = 10.0
_cache: dict[str, tuple[float, ThisNode]] = {}


@dataclass(frozen=True)
class ThisNode:
    code: str
    name: str
    groups: tuple[str, ...]


def this_node() -> ThisNode:
    """The node's identity: the stored row if an administrator set one, else the settings."""
    cached = _cache.get("node")
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    row = NodeIdentity.objects.first()
    if row is not None:
        node = ThisNode(row.code, row.name, tuple(row.groups))
    else:
        node = ThisNode(settings.NODE_CODE, settings.NODE_NAME, tuple(settings.NODE_GROUPS))
    _cache["node"] = (now + _CACHE_SECONDS, node)
    return node


def forget_identity() -> None:
    _cache.clear()
