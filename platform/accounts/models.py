from __future__ import annotations

from django.conf import settings
from django.db import models

from core.markings import Classification


class Role(models.TextChoices):
    ANALYST = "analyst", "Analyst (read, draft)"
    RELEASER = "releaser", "Releaser (publish and release)"
    TRUST_ADMIN = "trust_admin", "Trust administrator"
    AUDITOR = "auditor", "Auditor"


class Profile(models.Model):
    """A user's role and clearance: every read is scoped by the clearance."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANALYST)
    clearance = models.PositiveSmallIntegerField(
        choices=[(level.value, level.name) for level in Classification],
        default=Classification.OFFICIAL,
    )

    def __str__(self) -> str:
        return f"{self.user} ({self.role}, {Classification(self.clearance).name})"

    @property
    def may_publish(self) -> bool:
        return self.role == Role.RELEASER


class TOTPDevice(models.Model):
    """A user's time-based one-time-password secret (RFC 6238, 30 s steps, 6 digits).

    `last_step` is the last time step accepted, so a code seen once is never accepted again.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret = models.CharField(max_length=64, help_text="base32")
    confirmed = models.BooleanField(default=False)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "TOTP device"

    def __str__(self) -> str:
        return f"TOTP for {self.user} ({'confirmed' if self.confirmed else 'enrolling'})"


class LoginThrottle(models.Model):
    """Failed sign-ins per username, counted in the database so every web worker agrees."""

    username = models.CharField(max_length=150, unique=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.username}: {self.failures} failures"
