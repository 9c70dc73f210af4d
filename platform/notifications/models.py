"""Watches (an analyst follows an entity, a serial, a case or a saved search), administrators'
subscriptions to operational events, and the notifications computed from both.

Notifications are computed by a Celery task from durable state (report versions, deliveries,
refusals, policy changes, manifests, partners), never in request handlers. Each carries the
classification of what it reveals and is made only for a recipient cleared for it; lists show
only those at or below the reader's clearance now.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from reports.models import CLASSIFICATION_CHOICES


class WatchKind(models.TextChoices):
    ENTITY = "entity", "Entity"
    SERIAL = "serial", "Serial number or shipment reference"
    CASE = "case", "Case"
    SEARCH = "search", "Saved search"


class Watch(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=WatchKind.choices)
    target = models.CharField(max_length=200, help_text="entity id, serial, case id or search")
    label = models.CharField(max_length=300)
    checked_until = models.DateTimeField(help_text="versions written before this were examined")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "watches"
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "target"], name="one_watch_each")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.kind} {self.label}"


class EventKind(models.TextChoices):
    DEAD_LETTER = "dead_letter", "Dead letter"
    SUSPECTED_LEAK = "suspected_leak", "Suspected leak"
    PENDING_APPROVAL = "pending_approval", "Policy change waiting for approval"
    MANIFEST_EXPIRING = "manifest_expiring", "Partner key manifest about to expire"
    PARTNER_UNREACHABLE = "partner_unreachable", "Partner unreachable"


class Subscription(models.Model):
    """A trust administrator's subscription to one kind of operational event."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20, choices=EventKind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="one_subscription_each")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.event}"


class Channel(models.Model):
    """Where a user's notifications go besides the UI: e-mail and a signed webhook."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_channel"
    )
    email = models.EmailField(blank=True)
    webhook_url = models.URLField(blank=True)
    webhook_secret = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"channels of {self.user_id}"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200, help_text="what it is about, once per user")
    kind = models.CharField(max_length=20)
    title = models.CharField(max_length=300)
    link = models.CharField(max_length=300, blank=True)
    classification = models.PositiveSmallIntegerField(choices=CLASSIFICATION_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="e-mail and webhook done")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_per_subject")]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="inbox")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"
