from __future__ import annotations

from django.db import transaction

from .models import NodeIdentity
from .nodes import validate_node_code
from .selectors import forget_identity


@transaction.atomic
def set_node_identity(*, code: str, name: str, groups: list[str]) -> NodeIdentity:
    """Store this node's identity; there is only ever one row."""
    validate_node_code(code)
    if not name.strip():
        raise ValueError("name must not be empty")
    normalised = sorted({g.strip().lower() for g in groups if g.strip()})
    for group in normalised:
        validate_node_code(group)
    NodeIdentity.objects.exclude(code=code).delete()
    identity, _ = NodeIdentity.objects.update_or_create(
        code=code, defaults={"name": name.strip(), "groups": normalised}
    )
    forget_identity()
    return identity
