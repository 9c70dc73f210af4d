"""Writes for watchlists and notifications.

`compute_notifications` and `deliver_pending` run in the Celery task (`notifications.tasks`),
reading durable state only: report versions for watches, and deliveries, refusals, policy
changes, manifests and partners for administrators' subscriptions. A notification is made once
per recipient and subject (a unique key), only when the recipient is cleared for what it names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Role
from accounts.selectors import clearance_of, profile_of
from audit.services import record
from cases.selectors import visible_cases
from core.markings import Classification
from reports.models import ReportVersion, Status
from reports.selectors import ReportFilters, visible_reports
from search.selectors import matching_reports, visible_links

from .models import Channel, EventKind, Notification, Subscription, Watch, WatchKind

log = logging.getLogger(__name__)

# Versions are looked at again for this long after a run, so one committed late (a long
# transaction that took its id early) is still seen; the unique key stops duplicates.
GRACE = timedelta(minutes=2)
MANIFEST_WARNING = timedelta(days=7)
UNREACHABLE_AFTER_FAILURES = 5
PER_RUN = 200
KIND_LABELS = {
    **{f"watch_{kind}": f"Watched {label.lower()}" for kind, label in WatchKind.choices},
    **dict(EventKind.choices),
}


# --------------------------------------------------------------------------------------------
# Watches
# --------------------------------------------------------------------------------------------


def _require_reader(user: User) -> Classification:
    clearance = clearance_of(user)
    if clearance is None:
        raise PermissionDenied("this account has no role or clearance on this node")
    return clearance


def _label_of(user: User, kind: str, target: str) -> str:
    """The watch's label, checking the target is one the user may see (else "not found")."""
    if kind == WatchKind.ENTITY:
        link = (
            visible_links(user).filter(entity_id=int(target)).select_related("entity").first()
            if target.isdigit()
            else None
        )
        if link is None:
            raise ValidationError({"target": ["no entity with that id"]})
        return link.entity.name
    if kind == WatchKind.CASE:
        case = visible_cases(user).filter(pk=int(target)).first() if target.isdigit() else None
        if case is None:
            raise ValidationError({"target": ["no case with that number"]})
        return f"case #{case.pk}"
    if kind in (WatchKind.SERIAL, WatchKind.SEARCH):
        if not target.strip() or len(target) > 200:
            raise ValidationError({"target": ["give a serial or words of 1 to 200 characters"]})
        return f"“{target.strip()}”"
    raise ValidationError({"kind": [f"unknown kind of watch {kind!r}"]})


@transaction.atomic
def watch(user: User, kind: str, target: str) -> Watch:
    """Follow an entity, serial, case or search: new versions that match notify the user."""
    _require_reader(user)
    target = target.strip().upper() if kind == WatchKind.SERIAL else target.strip()
    label = _label_of(user, kind, target)
    found, created = Watch.objects.get_or_create(
        user=user,
        kind=kind,
        target=target,
        defaults={"label": label, "checked_until": timezone.now()},
    )
    if created:
        record(user, "watch.create", str(found.pk), {"kind": kind, "target": target})
    return found


@transaction.atomic
def unwatch(user: User, watch_id: int) -> None:
    deleted, _ = Watch.objects.filter(user=user, pk=watch_id).delete()
    if deleted:
        record(user, "watch.delete", str(watch_id))


def mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark some (or all) of the user's notifications read; returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


@transaction.atomic
def subscribe(user: User, events: Iterable[str]) -> list[str]:
    """Set a trust administrator's operational-event subscriptions to exactly `events`."""
    profile = profile_of(user)
    if profile is None or profile.role != Role.TRUST_ADMIN:
        raise PermissionDenied("operational events are for trust administrators")
    wanted = sorted(set(events))
    unknown = [event for event in wanted if event not in EventKind.values]
    if unknown:
        raise ValidationError({"events": [f"unknown event {', '.join(unknown)}"]})
    Subscription.objects.filter(user=user).exclude(event__in=wanted).delete()
    for event in wanted:
        Subscription.objects.get_or_create(user=user, event=event)
    record(user, "notifications.subscribe", str(user.pk), {"events": wanted})
    return wanted


@transaction.atomic
def set_channels(user: User, *, email: str, webhook_url: str) -> Channel:
    """E-mail address and webhook for the user's notifications; a webhook gets a new signing
    secret whenever its URL changes (shown to the user on the settings page)."""
    _require_reader(user)
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        raise ValidationError({"webhook_url": ["an http(s) URL"]})
    channel, _ = Channel.objects.get_or_create(user=user)
    if webhook_url != channel.webhook_url:
        channel.webhook_secret = secrets.token_hex(32) if webhook_url else ""
    channel.email = email
    channel.webhook_url = webhook_url
    channel.full_clean()
    channel.save()
    record(
        user,
        "notifications.channels",
        str(user.pk),
        {"email": bool(email), "webhook": bool(webhook_url)},
    )
    return channel


# --------------------------------------------------------------------------------------------
# Computing (Celery task)
# --------------------------------------------------------------------------------------------


def _new_versions(user: User, since: datetime, until: datetime) -> QuerySet[ReportVersion]:
    clearance = clearance_of(user)
    if clearance is None:
        return ReportVersion.objects.none()
    return (
        ReportVersion.objects.filter(
            created_at__gt=since,
            created_at__lte=until,
            classification__lte=int(clearance),
            report__in=visible_reports(user).values("pk"),
        )
        .exclude(author=user)
        .select_related("report")
    )


def _matching(watch_: Watch, versions: QuerySet[ReportVersion]) -> QuerySet[ReportVersion]:
    if watch_.kind == WatchKind.ENTITY:
        return versions.filter(links__entity_id=int(watch_.target)).distinct()
    if watch_.kind == WatchKind.SERIAL:
        return versions.filter(report__search_document__identifiers__contains=[watch_.target])
    if watch_.kind == WatchKind.CASE:
        if not visible_cases(watch_.user).filter(pk=int(watch_.target)).exists():
            return versions.none()
        return versions.filter(report__case_member__case_id=int(watch_.target))
    ids = list(versions.values_list("report_id", flat=True)[:PER_RUN])
    matched = matching_reports(watch_.user, watch_.target, ReportFilters()).filter(pk__in=ids)
    return versions.filter(report__in=matched.values("pk"))


def _version_title(watch_: Watch, version: ReportVersion) -> str:
    what = {str(Status.WITHDRAWN): "withdrawn", str(Status.DRAFT): "draft"}.get(
        str(version.status), "new report" if version.version == 1 else f"version {version.version}"
    )
    return f"{watch_.label}: {version.title} ({version.report.origin.upper()}, {what})"[:300]


def _watch_notifications(now: datetime) -> list[Notification]:
    made: list[Notification] = []
    for watch_ in Watch.objects.select_related("user").order_by("pk"):
        since = max(watch_.checked_until - GRACE, watch_.created_at)
        for version in _matching(watch_, _new_versions(watch_.user, since, now))[:PER_RUN]:
            made.append(
                Notification(
                    user=watch_.user,
                    key=f"watch:{watch_.pk}:v{version.pk}",
                    kind=f"watch_{watch_.kind}",
                    title=_version_title(watch_, version),
                    link=f"/reports/{version.report_id}/?version={version.version}",
                    classification=version.classification,
                )
            )
        Watch.objects.filter(pk=watch_.pk).update(checked_until=now)
    return made


def _operational_events(now: datetime) -> list[tuple[str, str, str, str]]:
    """(event kind, key, title, link) of every operational event in the current state."""
    from federation.models import Delivery, DeliveryState, Partner, PartnerManifest, Refusal
    from web.models import PolicyChange, PolicyChangeState

    events: list[tuple[str, str, str, str]] = []
    dead = Delivery.objects.filter(state=DeliveryState.DEAD).select_related("partner")
    for delivery in dead.order_by("-pk")[:PER_RUN]:
        events.append(
            (
                EventKind.DEAD_LETTER,
                f"dead:{delivery.pk}",
                f"Dead letter: delivery #{delivery.seq} to {delivery.partner.code.upper()} "
                f"after {delivery.attempts} attempts",
                "/trust/health/",
            )
        )
    for refusal in Refusal.objects.filter(leak_suspected=True).order_by("-pk")[:PER_RUN]:
        events.append(
            (
                EventKind.SUSPECTED_LEAK,
                f"leak:{refusal.pk}",
                f"Suspected leak: {refusal.partner.upper() or 'unknown sender'} sent a report it "
                f"was not entitled to ({refusal.code})",
                "/trust/health/",
            )
        )
    for partner in Partner.objects.filter(suspected_leak=True):
        events.append(
            (
                EventKind.SUSPECTED_LEAK,
                f"leak-partner:{partner.code}",
                f"Suspected leak: partner {partner.code.upper()} is flagged",
                "/trust/health/",
            )
        )
    for change in PolicyChange.objects.filter(state=PolicyChangeState.PENDING).select_related(
        "partner"
    ):
        events.append(
            (
                EventKind.PENDING_APPROVAL,
                f"approval:{change.pk}:{change.proposed_by_id}",
                f"Policy change for {change.partner.code.upper()} waits for a second administrator",
                f"/trust/partners/{change.partner.code}/policy/",
            )
        )
    horizon = int((now + MANIFEST_WARNING).timestamp())
    for manifest in PartnerManifest.objects.filter(valid_until__lt=horizon).select_related(
        "partner"
    ):
        until = datetime.fromtimestamp(manifest.valid_until, tz=now.tzinfo).date().isoformat()
        events.append(
            (
                EventKind.MANIFEST_EXPIRING,
                f"manifest:{manifest.partner.code}:{manifest.version}",
                f"Key manifest of {manifest.partner.code.upper()} (v{manifest.version}) "
                f"expires {until}",
                "/trust/keys/",
            )
        )
    for partner in Partner.objects.filter(consecutive_failures__gte=UNREACHABLE_AFTER_FAILURES):
        since = partner.last_success_at.isoformat() if partner.last_success_at else "never"
        events.append(
            (
                EventKind.PARTNER_UNREACHABLE,
                f"unreachable:{partner.code}:{since}",
                f"Partner {partner.code.upper()} unreachable: {partner.consecutive_failures} "
                f"failures in a row (last success {since[:16].replace('T', ' ')})",
                "/trust/health/",
            )
        )
    return events


def _event_notifications(now: datetime) -> list[Notification]:
    subscribed: dict[str, list[User]] = {}
    for row in Subscription.objects.select_related("user"):
        profile = profile_of(row.user)
        if profile is not None and profile.role == Role.TRUST_ADMIN and row.user.is_active:
            subscribed.setdefault(row.event, []).append(row.user)
    if not subscribed:
        return []
    made = []
    for kind, key, title, link in _operational_events(now):
        for user in subscribed.get(kind, []):
            if kind == EventKind.PENDING_APPROVAL and key.endswith(f":{user.pk}"):
                continue  # one's own proposal needs someone else
            made.append(
                Notification(
                    user=user,
                    key=key,
                    kind=kind,
                    title=title[:300],
                    link=link,
                    classification=int(Classification.OFFICIAL),
                )
            )
    return made


def compute_notifications(now: datetime | None = None) -> int:
    """Make the notifications owed now; returns how many were new."""
    now = now or timezone.now()
    with transaction.atomic():
        made = _watch_notifications(now) + _event_notifications(now)
        before = Notification.objects.count()
        Notification.objects.bulk_create(made, ignore_conflicts=True)
        return Notification.objects.count() - before


# --------------------------------------------------------------------------------------------
# Delivery: e-mail and signed webhook
# --------------------------------------------------------------------------------------------


def _outside_text(notification: Notification) -> str:
    """What may leave the node: OFFICIAL titles in full, above that only the level and a link
    (mail and webhooks are not accredited for classified content)."""
    if notification.classification <= Classification.OFFICIAL:
        return notification.title
    level = Classification(notification.classification).name
    return f"A {level} item you follow has changed; sign in to read it."


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex; sent as X-Allied-Signature: t=...,v1=..."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return mac.hexdigest()


def _send_webhook(channel: Channel, notification: Notification) -> None:
    payload: dict[str, Any] = {
        "id": notification.pk,
        "kind": notification.kind,
        "classification": Classification(notification.classification).name,
        "text": _outside_text(notification),
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
    }
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = int(time.time())
    signature = webhook_signature(channel.webhook_secret, stamp, body)
    response = requests.post(
        channel.webhook_url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Allied-Signature": f"t={stamp},v1={signature}",
        },
        timeout=5,
        allow_redirects=False,
    )
    response.raise_for_status()


def deliver_pending(limit: int = PER_RUN) -> int:
    """E-mail and webhook for notifications not sent yet; returns how many were sent."""
    sent = 0
    recent = timezone.now() - timedelta(days=1)
    pending = (
        Notification.objects.filter(sent_at__isnull=True, created_at__gte=recent)
        .filter(
            Q(user__notification_channel__email__gt="")
            | Q(user__notification_channel__webhook_url__gt="")
        )
        .select_related("user")
        .order_by("pk")[:limit]
    )
    for notification in pending:
        channel = Channel.objects.get(user_id=notification.user_id)
        clearance = clearance_of(notification.user)
        if clearance is None or notification.classification > clearance:
            Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
            continue
        try:
            if channel.email:
                link = f"{settings.NODE_PUBLIC_URL.rstrip('/')}{notification.link}"
                send_mail(
                    f"[Allied exchange] {KIND_LABELS.get(notification.kind, 'Notification')}",
                    f"{_outside_text(notification)}\n\n{link}\n",
                    settings.DEFAULT_FROM_EMAIL,
                    [channel.email],
                )
            if channel.webhook_url:
                _send_webhook(channel, notification)
        except (OSError, requests.RequestException) as exc:
            log.warning("notification %s not sent: %s", notification.pk, exc)
            continue
        Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
        sent += 1
    return sent
