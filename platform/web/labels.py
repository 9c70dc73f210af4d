"""Human labels for the codes stored in reports, so no page shows "freight_forwarder"."""

from __future__ import annotations

import re

from core.nodes import NODE_DIRECTORY
from federation.models import DeliveryState
from federation.policy import Decision
from reports.categories import INTERMEDIARY_ROLE_CHOICES, RED_FLAG_CHOICES
from reports.models import Category, EntityKind, EntityRole, Status

# Parties as the report page and its version changes name them, whatever the category (the
# editor's sections take the description's labels: a military-AI report's organisation is its
# "Developer" there).
PARTY_LABELS = {
    "consignee": "Consignee",
    "declared_end_user": "Declared end user",
    "suspected_end_user": "Suspected end user",
    "organisation": "Organisation",
    "provider": "Cloud provider",
    "customer": "Customer",
}

# The labels the categories' description gives their choices (the editor offers the same).
INTERMEDIARY_ROLE_LABELS = dict(INTERMEDIARY_ROLE_CHOICES)
RED_FLAG_LABELS = dict(RED_FLAG_CHOICES)

LABELS: dict[str, str] = {
    **dict(Category.choices),
    **dict(EntityKind.choices),
    **dict(EntityRole.choices),
    **dict(Status.choices),
    **dict(DeliveryState.choices),
    **INTERMEDIARY_ROLE_LABELS,
    **RED_FLAG_LABELS,
}


def node_name(code: str) -> str:
    """A node's name from the directory ("uk" -> its name); the code in capitals if unknown."""
    known = NODE_DIRECTORY.get(code)
    return known.name if known else code.upper()


def human(code: object) -> str:
    """The label of a stored code; an unknown code with its underscores made spaces."""
    text = str(code or "")
    return LABELS.get(text, text.replace("_", " "))


def policy_reason(decision: Decision, *, category: str, recipient: str) -> str:
    """`decide`'s reason as people read it: the category by its label, node codes in capitals
    as everywhere else on the pages."""
    if decision.rule == "category":
        label = Category(category).label if category in Category.values else human(category)
        return f"{label} is not among the categories shared with {recipient.upper()}"
    return re.sub(rf"\b{re.escape(recipient)}\b", recipient.upper(), decision.reason)
