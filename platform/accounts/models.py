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
