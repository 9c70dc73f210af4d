"""The audit log: append-only, keyed, hash-chained, anchored at partners.

Each entry carries ``mac``, an HMAC-SHA256 of its canonical content (the previous entry's hash
included) under a key kept outside the database (`audit.keyfile`), and ``hash`` =
sha256(previous hash || mac). Changing, removing or reordering an entry breaks the chain; without
the key nobody can recompute it; and the signed chain head the node publishes hourly to every
partner (federation.services.audit_anchor) shows a rewrite even by someone who holds the key.
Triggers refuse UPDATE, DELETE and TRUNCATE (`audit.guard`); in production the application's
database role may only INSERT and SELECT on the table (`audit.roles`).
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
    mac = models.CharField(max_length=64, default="", help_text="HMAC-SHA256, key outside the DB")
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor}"
