"""Proposed trust-policy changes: versioned, and applied only after a second administrator
approves (the database refuses an approval by the proposer)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from reports.models import CLASSIFICATION_CHOICES


class PolicyChangeState(models.TextChoices):
    PENDING = "pending", "Waiting for a second administrator"
    APPROVED = "approved", "Approved and applied"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn by the proposer"
    STALE = "stale", "Stale (the policy changed meanwhile)"


class PolicyChange(models.Model):
    partner = models.ForeignKey(
        "federation.Partner", on_delete=models.CASCADE, related_name="policy_changes"
    )
    ceiling = models.PositiveSmallIntegerField(choices=CLASSIFICATION_CHOICES)
    categories = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    tlp_allowed = ArrayField(models.CharField(max_length=12), default=list, blank=True)
    relay_origins = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    base_version = models.PositiveIntegerField(
        help_text="the partner policy's version the proposal was made against (0: none)"
    )
    previous = models.JSONField(default=dict, blank=True, help_text="the policy it replaces")
    reason = models.CharField(max_length=500)
    state = models.CharField(
        max_length=10, choices=PolicyChangeState.choices, default=PolicyChangeState.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    applied_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner"],
                condition=models.Q(state="pending"),
                name="one_pending_change_per_partner",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="approved")
                | (
                    models.Q(decided_by__isnull=False)
                    & ~models.Q(decided_by=models.F("proposed_by"))
                ),
                name="approved_by_a_second_administrator",
            ),
        ]

    def __str__(self) -> str:
        return f"policy change #{self.pk} for {self.partner_id} ({self.state})"
