"""The audit log: append-only, hash-chained.

Each entry stores the hash of the entry before it and a sha256 over its own canonical content
(which includes that previous hash), so changing, removing or reordering any entry breaks the
chain from that point on. A trigger refuses UPDATE and DELETE on the table (migration 0001, and
`audit.guard` for databases built without migrations).
"""

from __future__ import annotations

from django.db import models

GENESIS = "0" * 64


class AuditEntry(models.Model):
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150, help_text="username, or a system name")
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="no foreign key on purpose")
    action = models.CharField(max_length=60, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor}"
