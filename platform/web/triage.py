"""What the case screens show beside the stored data: human labels for the score's features,
explanation lines that add up on screen, queue cursors, and a report's signature status."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core import signing

from riskscore.explain import group_of
from riskscore.features import FEATURES, GROUP_LABELS

from .labels import RED_FLAG_LABELS, node_name

# --------------------------------------------------------------------------------------------
# Feature labels
# --------------------------------------------------------------------------------------------

# Short names; the one-line meaning comes from riskscore.features.FEATURES. A feature added
# there without a name here is shown with its identifier in words.
FEATURE_NAMES: dict[str, str] = {
    "cat_chip_diversion": "Category: chip diversion",
    "cat_military_ai": "Category: military AI",
    "cat_cloud_compute": "Category: cloud compute",
    "cat_model_weights": "Category: model weights",
    "cat_ai_incident": "Category: AI incident",
    "cat_other": "Category: other",
    "screening_match": "Screening-list name match",
    "screening_exact": "Exact screening-list match",
    "listed_address_link": "Address of a listed party",
    "listed_officer_link": "Officer of a listed party",
    "declared_vs_destination": "Declared end-user country is not the destination",
    "end_user_mismatch": "End user differs from the declared one",
    "final_destination_risk": "Final destination risk",
    "transit_risk": "Transit risk",
    "transshipment_hub": "Transshipment hub on the route",
    "route_hops": "Countries on the route",
    "controlled_item": "Controlled accelerator (ECCN 3A090)",
    "h100e_log": "Compute in H100-equivalents",
    "prc_accelerator": "PRC-made accelerator",
    "value_anomaly": "Declared value out of line",
    "quantity_vs_buyer": "Quantity out of line with the buyer",
    "serial_reuse": "Serial number seen in another case",
    "red_flag_count": "Number of red flags",
    "mass_registration_address": "Mass-registration address",
    "shell_intermediary": "Shell or reseller intermediary",
    "intermediary_count": "Number of intermediaries",
    "source_quality": "Source quality (Admiralty)",
    "corroboration": "Corroboration by independent origins",
    "recency": "Recency",
    "missing_fields": "Key facts missing",
    "training_compute_1e25": "Training compute above 10²⁵ FLOP",
    "training_compute_1e26": "Training compute above 10²⁶ FLOP",
    "military_capability": "Military capability named",
    "military_end_user": "Military end user",
    "controlled_chips_used": "Controlled chips used",
    "cluster_size": "Cluster size (1,000+ accelerators)",
    "linked_diversion": "Linked to a chip-diversion case",
    "cloud_training_flop": "Rented compute as training FLOP",
    "cloud_customer_risk": "Customer or owner in a country of concern",
    "cloud_layers": "Reseller or shell layers",
    "distillation": "Distillation pattern",
    "weights_compute": "Model's training compute (10²⁶)",
    "weights_channel": "Channel (leak, theft, unlicensed transfer)",
    "weights_recipient_risk": "Recipient",
    "incident_capabilities": "Capabilities demonstrated",
    "incident_scale": "Scale of the incident",
    "incident_actor": "Actor",
}
_DESCRIPTIONS = {spec.name: spec.description for spec in FEATURES}
_AS_ABOVE = "red flag (as above)"


def _meaning(description: str) -> str:
    """The description's first part (before the range and the reference)."""
    return description.split("; ")[0].strip()


@functools.lru_cache(maxsize=256)
def feature_label(name: str) -> tuple[str, str]:
    """(label, one-line meaning) for a feature of the scoring configuration."""
    description = _DESCRIPTIONS.get(name, "")
    if name.startswith("rf_"):
        flag = name.removeprefix("rf_")
        label = f"Red flag: {RED_FLAG_LABELS.get(flag, flag.replace('_', ' '))}"
        if description.startswith(_AS_ABOVE):
            description = _DESCRIPTIONS.get("rf_freight_forwarder_consignee", "")
        return label, _meaning(description)
    label = FEATURE_NAMES.get(name) or name.replace("_", " ").capitalize()
    return label, _meaning(description)


# --------------------------------------------------------------------------------------------
# Score explanation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplanationLine:
    feature: str
    label: str
    meaning: str
    value: str  # the feature's value, "missing", or "" for the "other" line
    missing: bool
    points: float  # as stored
    shown: str  # points rounded for display so that the shown lines add up to the score
    is_rest: bool
    group: str = "other"
    hundredths: int = 0

    @property
    def group_label(self) -> str:
        return GROUP_LABELS.get(self.group, "Other")

    @property
    def raises(self) -> bool:
        return self.points >= 0


@dataclass(frozen=True)
class Explanation:
    score: float
    baseline: float
    lines: list[ExplanationLine]
    shown_score: str
    shown_baseline: str
    config_version: str
    adds_up: bool  # baseline + stored points == stored score (within the stored rounding)

    @property
    def groups(self) -> list[ExplanationGroup]:
        """Lines per feature group (catalogue order), each with its shown total."""
        by_group: dict[str, list[ExplanationLine]] = {}
        for line in self.lines:
            by_group.setdefault(line.group, []).append(line)
        order = [g for g in GROUP_LABELS if g in by_group] + [
            g for g in by_group if g not in GROUP_LABELS
        ]
        return [ExplanationGroup.of(g, by_group[g]) for g in order]


@dataclass(frozen=True)
class ExplanationGroup:
    group: str
    label: str
    hundredths: int
    shown: str
    lines: list[ExplanationLine]
    silent: int  # lines at 0.00

    @classmethod
    def of(cls, group: str, lines: list[ExplanationLine]) -> ExplanationGroup:
        total = sum(line.hundredths for line in lines)
        return cls(
            group=group,
            label=GROUP_LABELS.get(group, "Other"),
            hundredths=total,
            shown=_signed(total),
            lines=lines,
            silent=sum(1 for line in lines if line.hundredths == 0),
        )

    @property
    def points(self) -> float:
        return self.hundredths / 100


def _hundredths(value: float) -> int:
    return round(value * 100)


def apportion(values: Sequence[float], total: int) -> list[int]:
    """Integers (in hundredths) near `values` x 100 that add up to `total` exactly: floors,
    then the units left go to the largest remainders (largest-remainder rounding)."""
    scaled = [v * 100 for v in values]
    floors = [math.floor(v) for v in scaled]
    left = total - sum(floors)
    order = sorted(range(len(values)), key=lambda i: scaled[i] - floors[i], reverse=True)
    result = list(floors)
    if not order:
        return result
    step = 1 if left >= 0 else -1
    if step < 0:
        order.reverse()
    for n in range(abs(left)):
        result[order[n % len(order)]] += step
    return result


def _signed(hundredths: int) -> str:
    sign = "+" if hundredths >= 0 else "−"
    return f"{sign}{abs(hundredths) / 100:.2f}"


def explain(
    score: float, baseline: float, contributions: Iterable[Mapping[str, Any]], version: str
) -> Explanation:
    items = list(contributions)
    total = _hundredths(score) - _hundredths(baseline)
    shown = apportion([float(item["points"]) for item in items], total)
    lines = []
    for item, hundredths in zip(items, shown, strict=True):
        name = str(item["feature"])
        is_rest = name.startswith("other (")
        if is_rest:
            label, meaning = name[0].upper() + name[1:], "the remaining features, added together"
        else:
            label, meaning = feature_label(name)
        missing = bool(item.get("missing"))
        value = item.get("value")
        if is_rest:
            text = ""
        elif missing or value is None:
            text = "missing"
        else:
            text = f"{float(value):.4g}"
        lines.append(
            ExplanationLine(
                feature=name,
                label=label,
                meaning=meaning,
                value=text,
                missing=missing,
                points=float(item["points"]),
                shown=_signed(hundredths),
                is_rest=is_rest,
                group=str(item.get("group") or group_of(name)),
                hundredths=hundredths,
            )
        )
    stored = baseline + sum(line.points for line in lines)
    return Explanation(
        score=score,
        baseline=baseline,
        lines=lines,
        shown_score=f"{_hundredths(score) / 100:.2f}",
        shown_baseline=f"{_hundredths(baseline) / 100:.2f}",
        config_version=version,
        adds_up=abs(stored - score) <= 0.005 * (len(lines) + 2),
    )


# --------------------------------------------------------------------------------------------
# Queue cursors
# --------------------------------------------------------------------------------------------

_SIGNER = signing.Signer(salt="web.triage.cursor")


@dataclass(frozen=True)
class Cursor:
    """A row of the queue: its key (score, case id) and its rank. Signed, so a rank shown
    from a cursor is one the server computed."""

    score: float
    case_id: int
    rank: int

    @property
    def key(self) -> tuple[float, int]:
        return (self.score, self.case_id)

    def encode(self) -> str:
        return _SIGNER.sign(f"{self.score!r}~{self.case_id}~{self.rank}")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        if not text or len(text) > 200:
            return None
        try:
            score, case_id, rank = _SIGNER.unsign(text).split("~")
            cursor = cls(float(score), int(case_id), int(rank))
        except (signing.BadSignature, ValueError):
            return None
        if not math.isfinite(cursor.score) or cursor.rank < 0 or cursor.case_id < 1:
            return None
        return cursor


# --------------------------------------------------------------------------------------------
# Signature status from provenance
# --------------------------------------------------------------------------------------------


@dataclass
class Signature:
    status: str  # "verified", "not released", "no signed release held"
    signed_by: str = ""
    key: str = ""
    received_from: str = ""
    relays: list[str] = field(default_factory=list)  # nodes it passed through, in order
    countersigned_by: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # "UK → CA → US"
    received_at: Any = None
    releases: int = 0

    @property
    def relayed(self) -> bool:
        return bool(self.relays)

    @property
    def verified(self) -> bool:
        return self.status == "verified"


def signature_of(provenance: Mapping[str, Any], here: str) -> Signature:
    """The signature status of a report's latest release held here, and who relayed it."""
    origin = str(provenance.get("origin", ""))
    releases = list(provenance.get("releases") or [])
    if not releases:
        return Signature("not released" if origin == here else "no signed release held")
    latest = releases[-1]
    signature = Signature(
        status=str(latest.get("signature", "")),
        signed_by=str(latest["signed_by"]["node"]),
        key=str(latest["signed_by"]["key"]),
        received_from=str(latest.get("received_from") or ""),
        countersigned_by=sorted(latest.get("countersigned_by") or {}),
        releases=len(releases),
    )
    relays: list[str] = []
    for path in latest.get("paths") or []:
        hops = [hop for hop in path.get("hops") or [] if isinstance(hop, Mapping)]
        nodes = [str(hops[0].get("from", ""))] if hops else [origin]
        nodes += [str(hop.get("to", "")) for hop in hops]
        sender = str(path.get("from", ""))
        if not hops and sender != nodes[-1]:  # a direct delivery is origin -> here, no more
            nodes.append(sender)
        if nodes[-1] != here:
            nodes.append(here)
        signature.paths.append(" → ".join(n.upper() for n in nodes if n))
        for node in nodes[1:-1]:
            if node and node not in (origin, here) and node not in relays:
                relays.append(node)
        received = path.get("received_at")
        if received is not None and (
            signature.received_at is None or received < signature.received_at
        ):
            signature.received_at = received
    sender = signature.received_from
    if sender and sender != origin and sender not in relays:
        relays.append(sender)
    signature.relays = relays
    return signature


def origin_label(code: str) -> str:
    return f"{code.upper()} – {node_name(code)}"
