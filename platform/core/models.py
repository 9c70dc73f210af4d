from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models


class NodeIdentity(models.Model):
    """This node's code, display name and groups (one row). Seeded from settings."""

    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=100)
    groups = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "node identity"
        verbose_name_plural = "node identity"

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"
