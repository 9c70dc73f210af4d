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


ACCOUNT_WIDE = "*"
"""The `LoginThrottle.address` of the row that counts an account's failures from every address."""


class LoginThrottle(models.Model):
    """Failed sign-ins for one account from one client address (or, with `address` set to
    `ACCOUNT_WIDE`, from all addresses), counted in the database so every web worker agrees.

    `failures` counts the attempts of the window that began at `window_started_at`; an attempt
    is counted before its password or code is checked and given back if it succeeds, so
    parallel attempts cannot outrun the count (see `accounts.second_factor.admit`)."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=45, help_text=f"client address, or {ACCOUNT_WIDE}")
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["username", "address"], name="login_throttle_one_row_per_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.address}: {self.failures} failures"
