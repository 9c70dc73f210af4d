"""Reads for the web UI that the other apps do not offer yet. Everything a user sees about
reports goes through `reports.selectors.visible_reports`, so counts are scoped like lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from core.markings import Classification, Marking
from core.nodes import NODE_DIRECTORY
from core.selectors import this_node
from federation.models import (
    AnonymousRefusal,
    Delivery,
    DeliveryState,
    Envelope,
    ManifestPush,
    OwnKey,
    OwnManifest,
    Partner,
    PartnerManifest,
    PartnerStatus,
    Refusal,
)
from federation.policy import Decision, Policy, decide
from federation.selectors import policy_for, release_of
from reports.models import Report, Status
from reports.selectors import visible_reports

from .labels import policy_reason
from .models import PolicyChange, PolicyChangeState

AnyUser = AbstractBaseUser | AnonymousUser


# --------------------------------------------------------------------------------------------
# Release preview (report editor)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerOutcome:
    code: str
    name: str
    status: str
    allowed: bool
    reason: str


@dataclass(frozen=True)
class ReleasePreview:
    receive: list[PartnerOutcome]
    withheld: list[PartnerOutcome]
    not_partners: list[str]  # named by REL TO but not partners of this node: nothing is sent


def release_preview(marking: Marking, category: str, origin: str) -> ReleasePreview:
    """Which partners would receive a release with `marking` now, and why the others not:
    `federation.policy.decide` with each partner's current policy, as the outbox does."""
    markings = marking.as_dict()
    release = release_of(origin, category, markings)
    me = this_node().code
    relayed_by = me if origin != me else None
    receive: list[PartnerOutcome] = []
    withheld: list[PartnerOutcome] = []
    partners = Partner.objects.select_related("policy").exclude(code=me).order_by("code")
    codes = set()
    for partner in partners:
        codes.add(partner.code)
        decision = decide(release, policy_for(partner), relayed_by=relayed_by)
        reason = policy_reason(decision, category=category, recipient=partner.code)
        outcome = PartnerOutcome(
            partner.code, partner.name, partner.status, decision.allowed, reason
        )
        (receive if decision.allowed else withheld).append(outcome)
    named = sorted(NODE_DIRECTORY.expand(marking.rel_to) - codes - {me})
    return ReleasePreview(receive=receive, withheld=withheld, not_partners=named)


# --------------------------------------------------------------------------------------------
# Policy simulator (trust console)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedReport:
    report_id: str
    title: str
    origin: str
    category: str
    classification: Classification
    before: Decision
    after: Decision
    # `before`/`after`'s reasons worded for people (category labels, node codes in capitals).
    before_reason: str = ""
    after_reason: str = ""


@dataclass
class Simulation:
    start: list[SimulatedReport] = field(default_factory=list)
    stop: list[SimulatedReport] = field(default_factory=list)
    still_flowing: int = 0
    still_withheld: int = 0

    @property
    def changes(self) -> int:
        return len(self.start) + len(self.stop)


def published_envelopes(user: AnyUser) -> list[Envelope]:
    """The newest signed release of each published report the user may see."""
    reports = visible_reports(user).filter(status=Status.PUBLISHED)
    return list(
        Envelope.objects.filter(report__in=reports, typ="fed.report")
        .order_by("report_id", "-ver")
        .distinct("report_id")
        .select_related("report")
    )


def simulate_policy(user: AnyUser, partner: Partner, proposed: Policy) -> Simulation:
    """Which published reports would start or stop flowing to `partner` under `proposed`,
    compared with its current policy. Only reports the user may see are considered."""
    current = policy_for(partner)
    me = this_node().code
    result = Simulation()
    for envelope in published_envelopes(user):
        if partner.code in (envelope.origin, envelope.received_from):
            continue
        report = envelope.report
        release = release_of(envelope.origin, report.category, envelope.body["markings"])
        relayed_by = me if envelope.origin != me else None
        before = decide(release, current, relayed_by=relayed_by)
        after = decide(release, proposed, relayed_by=relayed_by)
        row = SimulatedReport(
            str(report.pk),
            report.title,
            envelope.origin,
            report.category,
            Classification(report.classification),
            before,
            after,
            policy_reason(before, category=report.category, recipient=partner.code),
            policy_reason(after, category=report.category, recipient=partner.code),
        )
        if after.allowed and not before.allowed:
            result.start.append(row)
        elif before.allowed and not after.allowed:
            result.stop.append(row)
        elif after.allowed:
            result.still_flowing += 1
        else:
            result.still_withheld += 1
    return result


def policy_changes(partner: Partner) -> QuerySet[PolicyChange]:
    return PolicyChange.objects.filter(partner=partner).select_related("proposed_by", "decided_by")


def pending_changes() -> QuerySet[PolicyChange]:
    return PolicyChange.objects.filter(state=PolicyChangeState.PENDING).select_related(
        "partner", "proposed_by"
    )


# --------------------------------------------------------------------------------------------
# Federation health, keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerHealth:
    partner: Partner
    pending: int
    dead: int
    held: int  # refused by the partner's own policy for now; sent again later
    delivered: int
    in_backoff: bool
    refusals: int
    manifest_push: ManifestPush | None = None
    """Our newest manifest owed to the partner (pending: a revocation it has not heard yet)."""


def visible_deliveries(user: AnyUser) -> QuerySet[Delivery]:
    """Outbox rows of reports the user may see (queue depths are counts of reports too)."""
    return Delivery.objects.filter(envelope__report__in=visible_reports(user))


def partner_health(user: AnyUser) -> list[PartnerHealth]:
    counts: dict[tuple[int, str], int] = {}
    rows = visible_deliveries(user).values("partner_id", "state").annotate(n=Count("id"))
    for row in rows:
        counts[(row["partner_id"], row["state"])] = row["n"]
    refusals = dict(
        Refusal.objects.values_list("partner").annotate(n=Count("id")).values_list("partner", "n")
    )
    pushes = {push.partner_id: push for push in ManifestPush.objects.all()}
    now = timezone.now()
    return [
        PartnerHealth(
            partner=partner,
            pending=counts.get((partner.pk, DeliveryState.PENDING), 0),
            dead=counts.get((partner.pk, DeliveryState.DEAD), 0),
            held=counts.get((partner.pk, DeliveryState.HELD), 0),
            delivered=counts.get((partner.pk, DeliveryState.DELIVERED), 0),
            in_backoff=bool(partner.backoff_until and partner.backoff_until > now),
            refusals=refusals.get(partner.code, 0),
            manifest_push=pushes.get(partner.pk),
        )
        for partner in Partner.objects.order_by("code")
    ]


def queued_levels(user: AnyUser) -> list[int]:
    """The highest classification behind the queue counts shown (for the markings banner)."""
    found = visible_deliveries(user).aggregate(level=Max("envelope__report__classification"))
    return [found["level"]] if found["level"] else []


def dead_letters(user: AnyUser, limit: int = 200) -> list[Delivery]:
    return list(
        visible_deliveries(user)
        .filter(state=DeliveryState.DEAD)
        .select_related("partner", "envelope", "envelope__report")
        .order_by("partner__code", "seq")[:limit]
    )


def recent_refusals(limit: int = 50) -> list[Refusal]:
    """Partners' refusals only: however many anonymous requests arrive, they stay in sight."""
    return list(Refusal.objects.exclude(partner="").order_by("-created_at")[:limit])


def anonymous_refusals(limit: int = 50) -> list[AnonymousRefusal]:
    """Requests no partner signed, counted per code, path, client address and hour."""
    return list(AnonymousRefusal.objects.order_by("-last_seen")[:limit])


@dataclass(frozen=True)
class ManifestInfo:
    partner: Partner
    version: int | None
    valid_until: datetime | None
    fetched_at: datetime | None
    expired: bool
    keys: list[dict[str, Any]]


def _when(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=timezone.get_current_timezone()) if epoch else None


def own_keys() -> list[OwnKey]:
    return list(OwnKey.objects.order_by("use", "-created_at"))


def latest_own_manifest() -> OwnManifest | None:
    return OwnManifest.objects.order_by("-version").first()


def partner_manifests() -> list[ManifestInfo]:
    rows = {m.partner_id: m for m in PartnerManifest.objects.all()}
    now = timezone.now()
    out = []
    for partner in Partner.objects.order_by("code"):
        manifest = rows.get(partner.pk)
        keys: list[dict[str, Any]] = []
        if manifest is not None:
            body = manifest.body
            for status, section in (("current", "keys"), ("retired", "old_keys")):
                for kid, entry in (body.get(section) or {}).items():
                    keys.append({"kid": kid, "use": entry.get("use"), "status": status})
            for kid in body.get("revoked") or {}:
                keys.append({"kid": kid, "use": "", "status": "revoked"})
        valid_until = _when(manifest.valid_until) if manifest else None
        out.append(
            ManifestInfo(
                partner=partner,
                version=manifest.version if manifest else None,
                valid_until=valid_until,
                fetched_at=manifest.fetched_at if manifest else None,
                expired=bool(valid_until and valid_until <= now),
                keys=keys,
            )
        )
    return out


def epoch_to_datetime(epoch: int | None) -> datetime | None:
    return _when(epoch)


def partners() -> list[Partner]:
    return list(Partner.objects.select_related("policy").order_by("code"))


def partner_by_code(code: str) -> Partner | None:
    return Partner.objects.select_related("policy").filter(code=code).first()


def active_partner_codes() -> list[str]:
    return list(
        Partner.objects.filter(status=PartnerStatus.ACTIVE)
        .order_by("code")
        .values_list("code", flat=True)
    )


def report_titles(user: AnyUser, ids: Iterable[str]) -> dict[str, str]:
    return {
        str(pk): title
        for pk, title in visible_reports(user).filter(pk__in=list(ids)).values_list("pk", "title")
    }


def report_count(user: AnyUser) -> int:
    return visible_reports(user).count()


def visible_report_ids(user: AnyUser) -> QuerySet[Report]:
    return visible_reports(user)
