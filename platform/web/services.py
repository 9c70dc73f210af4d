"""Writes started from the web UI that need more than one app's service: the two-administrator
policy workflow, partner onboarding, key and delivery actions, sign-in help (unlock, second
factor reset), each with its audit entry."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import second_factor
from accounts.models import Role
from accounts.selectors import profile_of
from audit.services import record, refusals_audited
from core.markings import Classification
from core.nodes import NODE_DIRECTORY, validate_node_code
from federation.models import OwnKey, Partner, PartnerPolicy, PartnerStatus
from federation.policy import Policy
from federation.protocol.canonical import DEFAULT_LIMITS, strict_loads
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import PublicKey, normalize_fingerprint
from federation.protocol.manifest import verify_manifest
from federation.services import keys as key_service
from federation.services import outbox as outbox_service
from federation.services import partners as partner_service
from federation.services.outbox import replay_dead_letters
from reports.models import Category

from .models import PolicyChange, PolicyChangeState

TLP_COLOURS = ("clear", "green", "amber", "amber+strict", "red")


def _require_trust_admin(user: User) -> None:
    profile = profile_of(user)
    if profile is None or profile.role != Role.TRUST_ADMIN:
        raise PermissionDenied("this needs the trust administrator role")


def _require_cleared_to(user: User, ceiling: int) -> None:
    """Whoever proposes or approves a partner ceiling must be cleared to it: the simulator
    hides from them the reports above their clearance that the change would release."""
    profile = profile_of(user)
    if profile is None or profile.clearance < ceiling:
        level = Classification(ceiling).name
        raise PermissionDenied(f"a {level} ceiling needs an administrator cleared to {level}")


# --------------------------------------------------------------------------------------------
# Policy proposals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyInput:
    ceiling: Classification
    categories: frozenset[str]
    tlp_allowed: frozenset[str]
    relay_origins: frozenset[str]

    def as_policy(self, partner: Partner) -> Policy:
        return Policy(
            recipient=partner.code,
            active=partner.status == PartnerStatus.ACTIVE,
            ceiling=self.ceiling,
            categories=self.categories,
            tlp_allowed=self.tlp_allowed,
            relay_origins=self.relay_origins,
        )


def check_policy_input(
    *,
    ceiling: str,
    categories: Iterable[str],
    tlp_allowed: Iterable[str],
    relay_origins: Iterable[str],
) -> PolicyInput:
    """The same rules as `federation.services.partners.set_policy`, as field errors."""
    errors: dict[str, list[str]] = {}
    try:
        level = Classification.parse(ceiling)
    except ValueError as exc:
        errors["ceiling"] = [str(exc)]
        level = Classification.OFFICIAL
    cats = frozenset(categories)
    if cats - set(Category.values):
        errors["categories"] = [
            f"unknown categories: {', '.join(sorted(cats - set(Category.values)))}"
        ]
    colours = frozenset(tlp_allowed)
    if colours - set(TLP_COLOURS):
        errors["tlp_allowed"] = [f"TLP colours are {', '.join(TLP_COLOURS)}"]
    origins = frozenset(relay_origins)
    for origin in origins:
        try:
            validate_node_code(origin)
        except ValueError as exc:
            errors.setdefault("relay_origins", []).append(str(exc))
    if errors:
        raise ValidationError(errors)
    return PolicyInput(level, cats, colours, origins)


def policy_snapshot(row: PartnerPolicy | None) -> dict[str, object]:
    if row is None:
        return {}
    return {
        "version": row.version,
        "ceiling": Classification(row.ceiling).name,
        "categories": sorted(row.categories),
        "tlp_allowed": sorted(row.tlp_allowed),
        "relay_origins": sorted(row.relay_origins),
    }


def _current_policy_row(partner: Partner) -> PartnerPolicy | None:
    return PartnerPolicy.objects.filter(partner=partner).first()


@refusals_audited("policy.propose")
@transaction.atomic
def propose_policy_change(
    *, user: User, partner: Partner, proposal: PolicyInput, reason: str
) -> PolicyChange:
    _require_trust_admin(user)
    _require_cleared_to(user, int(proposal.ceiling))
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the policy should change"]})
    Partner.objects.select_for_update().get(pk=partner.pk)
    if PolicyChange.objects.filter(partner=partner, state=PolicyChangeState.PENDING).exists():
        raise ValidationError(
            {"__all__": [f"a change for {partner.code} is already waiting for approval"]}
        )
    current = _current_policy_row(partner)
    snapshot = policy_snapshot(current)
    if current is not None and snapshot == {
        "version": current.version,
        "ceiling": proposal.ceiling.name,
        "categories": sorted(proposal.categories),
        "tlp_allowed": sorted(proposal.tlp_allowed),
        "relay_origins": sorted(proposal.relay_origins),
    }:
        raise ValidationError({"__all__": ["this is the current policy: nothing would change"]})
    change = PolicyChange.objects.create(
        partner=partner,
        ceiling=int(proposal.ceiling),
        categories=sorted(proposal.categories),
        tlp_allowed=sorted(proposal.tlp_allowed),
        relay_origins=sorted(proposal.relay_origins),
        base_version=current.version if current else 0,
        previous=snapshot,
        reason=reason.strip()[:500],
        proposed_by=user,
    )
    record(user, "policy.propose", partner.code, {"change": change.pk, **_summary(change)})
    return change


def _summary(change: PolicyChange) -> dict[str, object]:
    return {
        "ceiling": Classification(change.ceiling).name,
        "categories": list(change.categories),
        "tlp_allowed": list(change.tlp_allowed),
        "relay_origins": list(change.relay_origins),
        "base_version": change.base_version,
    }


def _lock_pending(change_id: int) -> PolicyChange:
    change = (
        PolicyChange.objects.select_for_update()
        .select_related("partner")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        raise ValidationError({"__all__": ["no such policy change"]})
    if change.state != PolicyChangeState.PENDING:
        raise ValidationError({"__all__": [f"this change is already {change.state}"]})
    return change


@refusals_audited("policy.approve")
@transaction.atomic
def approve_policy_change(*, user: User, change_id: int, note: str = "") -> PolicyChange:
    """A second trust administrator applies a pending change through `set_policy`."""
    _require_trust_admin(user)
    change = _lock_pending(change_id)
    if change.proposed_by_id == user.pk:
        raise PermissionDenied("a second administrator must approve a change you proposed")
    _require_cleared_to(user, change.ceiling)
    outbox_service.hold_fan_outs()  # before the partner's row, which a fan-out may hold
    partner = Partner.objects.select_for_update().get(pk=change.partner_id)
    current = _current_policy_row(partner)
    if (current.version if current else 0) != change.base_version:
        change.state = PolicyChangeState.STALE
        change.decided_by, change.decided_at = user, timezone.now()
        change.decision_note = "the policy changed after this was proposed"
        change.save()
        record(user, "policy.stale", partner.code, {"change": change.pk})
        return change
    applied = partner_service.set_policy(
        partner,
        ceiling=Classification(change.ceiling),
        categories=change.categories,
        tlp_allowed=change.tlp_allowed,
        relay_origins=change.relay_origins,
    )
    change.state = PolicyChangeState.APPROVED
    change.decided_by, change.decided_at = user, timezone.now()
    change.decision_note = note.strip()[:500]
    change.applied_version = applied.version
    change.save()
    record(
        user,
        "policy.approve",
        partner.code,
        {"change": change.pk, "proposed_by": change.proposed_by.get_username(), **_summary(change)},
    )
    return change


@refusals_audited("policy.reject")
@transaction.atomic
def reject_policy_change(*, user: User, change_id: int, note: str = "") -> PolicyChange:
    """Another administrator rejects; the proposer may withdraw their own proposal."""
    _require_trust_admin(user)
    change = _lock_pending(change_id)
    own = change.proposed_by_id == user.pk
    change.state = PolicyChangeState.WITHDRAWN if own else PolicyChangeState.REJECTED
    change.decided_by, change.decided_at = user, timezone.now()
    change.decision_note = note.strip()[:500]
    change.save()
    record(user, f"policy.{change.state}", change.partner.code, {"change": change.pk})
    return change


# --------------------------------------------------------------------------------------------
# Partners
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestCheck:
    """What the onboarding page shows beside the fingerprint the administrator typed."""

    entered: str
    node: str | None
    version: int | None
    valid_until: int | None
    root_fingerprints: list[str]
    matches: bool
    verified: bool
    error: str


NO_MANIFEST = "no valid key manifest could be fetched from that URL"


def check_partner_manifest(*, code: str, base_url: str, fingerprint: str) -> ManifestCheck:
    """Fetch the manifest from `base_url` and compare its root key with the fingerprint given
    out of band; nothing is stored."""
    from federation import client

    try:
        entered = normalize_fingerprint(fingerprint)
    except ProtocolError as exc:
        return ManifestCheck(fingerprint, None, None, None, [], False, False, exc.reason)
    try:
        raw = client.fetch_manifest(partner_service.check_partner_url(base_url))
    except partner_service.UnsafePartnerURL as exc:
        return ManifestCheck(entered, None, None, None, [], False, False, str(exc))
    except client.PartnerUnreachable:
        # Nothing of what answered (status, body, error text): no oracle for internal hosts.
        return ManifestCheck(entered, None, None, None, [], False, False, NO_MANIFEST)
    roots: list[str] = []
    node = version = valid_until = None
    try:
        parsed = strict_loads(raw, DEFAULT_LIMITS)
        if isinstance(parsed, dict):
            node = str(parsed.get("node")) if parsed.get("node") else None
            version = parsed.get("version") if isinstance(parsed.get("version"), int) else None
            until = parsed.get("valid_until")
            valid_until = until if isinstance(until, int) else None
            for kid, entry in (parsed.get("keys") or {}).items():
                if isinstance(entry, dict) and entry.get("use") == "root":
                    roots.append(PublicKey.from_b64(kid, "root", str(entry["key"])).fingerprint)
    except (ProtocolError, ValueError, KeyError, TypeError):
        return ManifestCheck(entered, None, None, None, [], False, False, NO_MANIFEST)
    matches = entered in roots
    try:
        manifest = verify_manifest(raw, {entered}, None, int(time.time()))
    except ProtocolError as exc:
        return ManifestCheck(entered, node, version, valid_until, roots, matches, False, exc.reason)
    if manifest.node != code:
        return ManifestCheck(
            entered,
            node,
            version,
            valid_until,
            roots,
            matches,
            False,
            f"the manifest is for node {manifest.node}, not {code}",
        )
    return ManifestCheck(entered, node, version, valid_until, roots, matches, True, "")


@refusals_audited("partner.add")
@transaction.atomic
def onboard_partner(
    *, user: User, code: str, base_url: str, fingerprint: str, name: str = ""
) -> Partner:
    """Introduce a partner with the narrowest policy and suspended: what it may receive is a
    policy change like any other, approved by a second administrator, then it is resumed."""
    _require_trust_admin(user)
    if Partner.objects.filter(code=code).exists():
        raise ValidationError({"code": [f"{code} is already a partner"]})
    known = NODE_DIRECTORY.get(code)
    partner = partner_service.introduce_partner(
        code=code,
        base_url=base_url,
        root_fingerprint=fingerprint,
        name=name or None,
        groups=list(known.groups) if known else [],
        ceiling=Classification.OFFICIAL,
        tlp_allowed=("clear",),
    )
    partner_service.set_status(partner, PartnerStatus.SUSPENDED)
    partner.refresh_from_db()
    record(
        user,
        "partner.introduce",
        code,
        {"base_url": partner.base_url, "root_fingerprint": partner.root_fingerprints[0]},
    )
    return partner


@refusals_audited("partner.repin")
@transaction.atomic
def repin_partner_root(*, user: User, partner_code: str, fingerprint: str) -> bool:
    """Pin a partner's new root (its root rotation, fingerprint compared out of band); its
    cached manifests are dropped and the next one must verify under the new root."""
    _require_trust_admin(user)
    partner = Partner.objects.select_for_update().get(code=partner_code)
    previous = list(partner.root_fingerprints)
    changed = partner_service.repin_root(partner, fingerprint)
    if changed:
        record(
            user,
            "partner.repin",
            partner.code,
            {"root_fingerprint": partner.root_fingerprints[0], "previous": previous},
        )
    return changed


@refusals_audited("partner.status")
@transaction.atomic
def change_partner_status(*, user: User, partner: Partner, status: str) -> None:
    _require_trust_admin(user)
    partner_service.set_status(partner, status)
    record(
        user, f"partner.{'resume' if status == PartnerStatus.ACTIVE else 'suspend'}", partner.code
    )


@refusals_audited("federation.replay")
@transaction.atomic
def replay(*, user: User, partner_code: str, ids: Iterable[int] | None = None) -> int:
    _require_trust_admin(user)
    chosen = list(ids) if ids is not None else None
    count = replay_dead_letters(partner_code, chosen)
    record(user, "federation.replay", partner_code, {"count": count, "ids": chosen or "all"})
    return count


# --------------------------------------------------------------------------------------------
# Own keys
# --------------------------------------------------------------------------------------------


@refusals_audited("key.rotate")
@transaction.atomic
def rotate_key(*, user: User, use: str) -> OwnKey:
    _require_trust_admin(user)
    new = key_service.rotate(use)
    record(user, "key.rotate", new.kid, {"use": use})
    return new


@refusals_audited("key.revoke")
@transaction.atomic
def revoke_key(*, user: User, kid: str, reason: str) -> OwnKey:
    _require_trust_admin(user)
    if not OwnKey.objects.filter(kid=kid).exists():
        raise ValidationError({"kid": ["no such key"]})
    try:
        row = key_service.revoke(kid, reason)
    except ValueError as exc:
        raise ValidationError({"reason": [str(exc)]}) from None
    record(user, "key.revoke", kid, {"reason": reason.strip()[:300]})
    return row


# --------------------------------------------------------------------------------------------
# Sign-in help: the trust console and `manage.py reset_sign_in` both come here
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandLine:
    """The actor of a management command: whoever can run `manage.py` on the node is its
    operator, so no role is asked of them; they are recorded as `cli:<name>`."""

    name: str

    def __str__(self) -> str:
        return f"cli:{self.name}"


def _help_desk_actor(user: User | CommandLine) -> User | str:
    """The trust administrator (checked) or the command-line operator, as the audit names it."""
    if isinstance(user, CommandLine):
        return str(user)
    _require_trust_admin(user)
    return user


@refusals_audited("auth.unlock")
@transaction.atomic
def unlock_sign_in(*, user: User | CommandLine, username: str) -> int:
    """Lift every sign-in lock on `username` (from each address and account-wide) and forget
    its failed attempts. Returns how many locks were in force."""
    actor = _help_desk_actor(user)
    locked = second_factor.unlock(username)
    record(actor, "auth.unlock", username, {"locks_lifted": locked})
    return locked


@refusals_audited("auth.totp_reset")
@transaction.atomic
def reset_second_factor(*, user: User | CommandLine, username: str) -> None:
    """Remove `username`'s authenticator: they enrol a new one at their next sign-in."""
    actor = _help_desk_actor(user)
    target = User.objects.filter(username=username).first()
    if target is None:
        raise ValidationError({"username": [f"no user {username!r}"]})
    had_device = second_factor.device_of(target) is not None
    second_factor.reset_device(target)
    record(actor, "auth.totp_reset", username, {"had_authenticator": had_device})
