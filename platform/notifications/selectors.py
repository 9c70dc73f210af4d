"""Reads for notifications and watches: only the reader's own, only at or below their clearance
now (a notification made before a clearance was lowered is not shown)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.selectors import clearance_of

from .models import Channel, Notification, Subscription, Watch

AnyUser = AbstractBaseUser | AnonymousUser


def notifications_for(user: AnyUser) -> QuerySet[Notification]:
    clearance = clearance_of(user)
    if clearance is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(
        user_id=user.pk, classification__lte=int(clearance)
    ).order_by("-created_at", "-pk")


def unread_count(user: AnyUser) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()


def watches_of(user: AnyUser) -> QuerySet[Watch]:
    if not user.is_authenticated:
        return Watch.objects.none()
    return Watch.objects.filter(user_id=user.pk).order_by("kind", "label")


def watch_for(user: AnyUser, kind: str, target: str) -> Watch | None:
    return watches_of(user).filter(kind=kind, target=target).first()


def subscriptions_of(user: AnyUser) -> list[str]:
    if not user.is_authenticated:
        return []
    return list(Subscription.objects.filter(user_id=user.pk).values_list("event", flat=True))


def channel_of(user: AnyUser) -> Channel | None:
    if not user.is_authenticated:
        return None
    return Channel.objects.filter(user_id=user.pk).first()
