from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .models import NodeIdentity


@dataclass(frozen=True)
class ThisNode:
    code: str
    name: str
    groups: tuple[str, ...]


def this_node() -> ThisNode:
    """The node's identity: the stored row if an administrator set one, else the settings."""
    row = NodeIdentity.objects.first()
    if row is not None:
        return ThisNode(row.code, row.name, tuple(row.groups))
    return ThisNode(settings.NODE_CODE, settings.NODE_NAME, tuple(settings.NODE_GROUPS))
