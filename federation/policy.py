"""The one decision "may report R go to node N": on send, on relay and on receipt.

Plain Python. The sender asks it with its policy for the partner; the receiver asks it with its
own accreditation; a relay asks it as a sender whose report came from elsewhere. The same rules
therefore hold at both ends, and a receiver refuses exactly what a correct sender would not send.

Two kinds of refusal. A *breach*: the origin's signed markings (REL TO, TLP:RED, ORCON) or the
recipient's accreditation forbid it, so a sender that sent it broke the markings. A *local
policy* refusal: the markings allow the recipient, but an administrator's choice for this pair
of nodes (suspension, categories, TLP colours, the origins relayed) does not, for now. The two
ends' administrators set those choices separately, so they may disagree for a while: that is
not a leak, and the copy is sent again later (`federation.services.outbox`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from core.markings import Classification
from core.nodes import NODE_DIRECTORY, NodeDirectory


@dataclass(frozen=True)
class Policy:
    recipient: str
    active: bool
    ceiling: Classification
    categories: frozenset[str]  # empty = every category
    tlp_allowed: frozenset[str]  # empty = every colour
    relay_origins: frozenset[str]


@dataclass(frozen=True)
class Release:
    """What the decision needs to know about one report version (all of it origin-signed)."""

    origin: str
    category: str
    classification: Classification
    rel_to: tuple[str, ...]
    orcon: bool
    tlp: str


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    # True when a refusal means the signed markings (or the recipient's accreditation) forbid
    # it; False for a local policy choice, which the other end may not share yet.
    breach: bool = False
    # Which rule answered, so a page can word the reason for people (`reason` names codes).
    rule: str = "entitled"


def decide(
    release: Release,
    policy: Policy,
    *,
    relayed_by: str | None = None,
    directory: NodeDirectory = NODE_DIRECTORY,
) -> Decision:
    """May `release` go to `policy.recipient`? `relayed_by` is the node forwarding a report it
    did not originate (None when the origin itself sends)."""
    recipient = policy.recipient
    if not policy.active:
        return Decision(False, f"partner {recipient} is suspended", rule="suspended")
    if recipient not in directory.expand(release.rel_to):
        rel = ", ".join(release.rel_to)
        return Decision(
            False, f"REL TO {rel} does not include {recipient}", breach=True, rule="rel_to"
        )
    if release.tlp == "red" and recipient not in release.rel_to:
        return Decision(
            False,
            f"TLP:RED goes only to nodes named one by one; {recipient} is not",
            breach=True,
            rule="tlp_red",
        )
    if release.classification > policy.ceiling:
        return Decision(
            False,
            f"{release.classification.name} is above {recipient}'s accreditation "
            f"({policy.ceiling.name})",
            breach=True,
            rule="ceiling",
        )
    if policy.categories and release.category not in policy.categories:
        return Decision(
            False, f"category {release.category} is not shared with {recipient}", rule="category"
        )
    if policy.tlp_allowed and release.tlp not in policy.tlp_allowed:
        return Decision(
            False, f"TLP:{release.tlp.upper()} is not shared with {recipient}", rule="tlp"
        )
    if relayed_by is not None and relayed_by != release.origin:
        if release.orcon:
            return Decision(
                False, "ORCON: only the originator disseminates", breach=True, rule="orcon"
            )
        if release.origin not in policy.relay_origins:
            # Not a breach: the origin's markings allow the recipient and do not forbid
            # relaying (no ORCON); which origins are relayed is each end's own choice.
            return Decision(
                False,
                f"reports from {release.origin} are not relayed with {recipient}",
                rule="relay_origin",
            )
    return Decision(True, "entitled")


def all_categories(categories: Collection[str]) -> frozenset[str]:
    return frozenset(categories)
