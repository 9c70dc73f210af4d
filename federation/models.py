"""Federation state: own keys, partners and their policies, signed envelopes, the per-partner
outbox (which is also the catch-up log), receipts and refusals."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.markings import Classification
from reports.models import CLASSIFICATION_CHOICES, Category, Report


class KeyUse(models.TextChoices):
    ROOT = "root", "Root (signs the key manifest)"
    REPORT = "report", "Report signing"
    REQUEST = "request", "Request signing"


class KeyStatus(models.TextChoices):
    PENDING = "pending", "Pending (made online, not yet vouched for by the root)"
    STANDBY = "standby", "Standby (vouched for by the root, used after a rotation)"
    CURRENT = "current", "Current"
    RETIRED = "retired", "Retired (verifies what it signed before expiry)"
    REVOKED = "revoked", "Revoked"


class OwnKey(models.Model):
    """Public half and status of one of this node's keys. The private half lives in the node's
    data directory (mode 0600), never in the database, never in a log."""

    kid = models.CharField(max_length=80, unique=True)
    use = models.CharField(max_length=8, choices=KeyUse.choices)
    public_key = models.CharField(max_length=64, help_text="raw Ed25519 key, base64url")
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=KeyStatus.choices, default=KeyStatus.CURRENT)
    not_before = models.BigIntegerField()
    expired_at = models.BigIntegerField(null=True, blank=True)
    revoked_at = models.BigIntegerField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["use", "-created_at"]

    def __str__(self) -> str:
        return f"{self.kid} ({self.status})"


class OwnManifest(models.Model):
    """Each manifest the offline root signed for this node (a key ceremony signs a series ahead
    of time); the highest version whose window has opened is served."""

    version = models.PositiveIntegerField(unique=True)
    body = models.JSONField()
    issued_at = models.BigIntegerField(default=0)
    valid_until = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"manifest v{self.version}"


class PartnerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"


class Partner(models.Model):
    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=100)
    base_url = models.URLField()
    root_fingerprints = ArrayField(
        models.CharField(max_length=64),
        help_text="root-key fingerprints exchanged out of band (hex sha256)",
    )
    groups = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    status = models.CharField(
        max_length=10, choices=PartnerStatus.choices, default=PartnerStatus.ACTIVE
    )
    next_seq = models.BigIntegerField(default=1, help_text="next sequence number of our log to it")
    received_seq = models.BigIntegerField(
        default=0, help_text="highest contiguous sequence number received from it"
    )
    received_ahead = ArrayField(
        models.BigIntegerField(),
        default=list,
        blank=True,
        help_text="sequence numbers received past a hole, so filling it moves the mark past them",
    )
    suspected_leak = models.BooleanField(default=False)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    backoff_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class PartnerPolicy(models.Model):
    """What may flow to (and be accepted from) one partner. One function applies it:
    federation.policy.decide, on send, on relay and on receipt."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="policy")
    ceiling = models.PositiveSmallIntegerField(
        choices=CLASSIFICATION_CHOICES,
        default=Classification.CONFIDENTIAL,
        help_text="highest classification the partner is accredited for",
    )
    categories = ArrayField(
        models.CharField(max_length=20, choices=Category.choices),
        default=list,
        blank=True,
        help_text="empty = every category",
    )
    tlp_allowed = ArrayField(
        models.CharField(max_length=12),
        default=list,
        blank=True,
        help_text="TLP colours it may receive; empty = every colour",
    )
    relay_origins = ArrayField(
        models.CharField(max_length=8),
        default=list,
        blank=True,
        help_text="origins whose reports may be relayed between us and this partner",
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "partner policies"

    def __str__(self) -> str:
        return f"policy for {self.partner.code} v{self.version}"


class PartnerManifest(models.Model):
    """The latest verified key manifest of a partner (rollback refused on update)."""

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="manifest")
    version = models.PositiveIntegerField()
    body = models.JSONField()
    valid_until = models.BigIntegerField()
    fetched_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.partner.code} manifest v{self.version}"


class Envelope(models.Model):
    """A signed release of one report version, exactly as signed (with every signature)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="envelopes")
    ver = models.PositiveIntegerField(help_text="release number, chained by prev digests")
    typ = models.CharField(max_length=16)
    origin = models.CharField(max_length=8)
    digest = models.CharField(max_length=60, unique=True)
    body = models.JSONField()
    iat = models.BigIntegerField()
    origin_kid = models.CharField(max_length=80)
    received_from = models.CharField(max_length=8, blank=True, help_text="empty for our own")
    hops = models.JSONField(default=list, blank=True)
    relay_kids = models.JSONField(default=dict, blank=True)
    local_version = models.PositiveIntegerField(help_text="the report version stored with it")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "ver"], name="one_envelope_per_release")
        ]

    def __str__(self) -> str:
        return f"{self.origin}/{self.report_id} r{self.ver}"


class Receipt(models.Model):
    """Every partner that delivered a copy of an envelope: provenance, not corroboration."""

    envelope = models.ForeignKey(Envelope, on_delete=models.CASCADE, related_name="receipts")
    from_partner = models.CharField(max_length=8)
    hops = models.JSONField(default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["envelope", "from_partner"], name="one_receipt_per_path"
            )
        ]

    def __str__(self) -> str:
        return f"{self.envelope_id} from {self.from_partner}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead letter"
    HELD = "held", "Held by the partner's policy (sent again later)"
    CANCELLED = "cancelled", "Cancelled (no longer entitled)"


class Delivery(models.Model):
    """One envelope owed to one partner: the outbox row and the partner's log entry at `seq`."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="deliveries")
    envelope = models.ForeignKey(Envelope, on_delete=models.CASCADE, related_name="deliveries")
    seq = models.BigIntegerField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    replays = models.PositiveIntegerField(
        default=0,
        help_text="times this copy was sent again in a new transaction (a dead letter an "
        "administrator replayed, a copy held by the partner's policy): part of the batch's txn "
        "id, so the partner decides it afresh, not from its record",
    )
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["partner", "envelope"], name="one_delivery_each"),
            models.UniqueConstraint(fields=["partner", "seq"], name="one_seq_per_partner"),
        ]
        indexes = [
            models.Index(
                fields=["partner", "next_attempt_at", "seq"],
                condition=models.Q(state="pending"),
                name="pending_by_partner",
            ),
            # The sweeper looks for held copies due again; there are few, the table is large.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="held"),
                name="held_by_due_time",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} to {self.partner_id}: {self.state}"


class InboundTransaction(models.Model):
    """Results of a processed inbound batch, returned again if the sender retries it."""

    partner = models.CharField(max_length=8)
    txn_id = models.CharField(max_length=64)
    results = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "txn_id"], name="one_txn_per_partner")
        ]

    def __str__(self) -> str:
        return f"{self.partner} txn {self.txn_id}"


class Refusal(models.Model):
    """What a partner sent that we refused, and why. Kept for the trust console. Requests no
    partner signed are counted in `AnonymousRefusal` instead (rows from before that have an
    empty partner)."""

    partner = models.CharField(max_length=8, blank=True, help_text="empty if unauthenticated")
    code = models.CharField(max_length=40)
    reason = models.CharField(max_length=500)
    origin = models.CharField(max_length=8, blank=True)
    report_id = models.CharField(max_length=40, blank=True)
    ver = models.PositiveIntegerField(null=True, blank=True)
    leak_suspected = models.BooleanField(default=False)
    remote_addr = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.partner or '?'}: {self.code}"


class AnonymousRefusal(models.Model):
    """Refused requests that no partner signed (unsigned, a key we cannot verify with, a
    signature that does not verify: anyone can send those), counted per (code, path, client
    address, hour) instead of a `Refusal` row each. A flood is one row an hour per address and
    code, and never pushes a partner's own refusal off the trust console."""

    code = models.CharField(max_length=40)
    path = models.CharField(max_length=200)
    remote_addr = models.CharField(max_length=64, blank=True)
    hour = models.DateTimeField(help_text="the hour counted (its start)")
    count = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=500, help_text="the latest reason given")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "path", "remote_addr", "hour"], name="one_anonymous_count_an_hour"
            )
        ]

    def __str__(self) -> str:
        return f"{self.remote_addr or '?'}: {self.code} x{self.count}"


class PartnerAuditHead(models.Model):
    """A signed head of a partner's audit log, as that partner published it to us. Kept so we
    can later show that its log was rewritten or truncated (federation.services.audit_anchor)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="audit_heads")
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    at = models.BigIntegerField(help_text="when the partner signed it (epoch seconds)")
    body = models.JSONField()
    verdict = models.CharField(
        max_length=12, blank=True, help_text="consistent, rewritten or truncated once checked"
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq", "-received_at"]

    def __str__(self) -> str:
        return f"{self.partner.code} audit head #{self.seq}"


class ManifestPushState(models.TextChoices):
    PENDING = "pending", "Pending (retried with backoff until the partner acknowledges)"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    REFUSED = "refused", "Refused by the partner (not retried; see the last error)"


class ManifestPush(models.Model):
    """Our newest manifest owed to one partner (a revocation must reach it): written in the
    transaction that imports a ceremony's series, sent on the `manifests` queue with capped
    backoff, swept by beat. One row per partner: a newer manifest supersedes a pending push."""

    partner = models.OneToOneField(
        Partner, on_delete=models.CASCADE, primary_key=True, related_name="manifest_push"
    )
    version = models.PositiveIntegerField(help_text="the manifest version the partner must hold")
    state = models.CharField(
        max_length=12, choices=ManifestPushState.choices, default=ManifestPushState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    acknowledged_version = models.PositiveIntegerField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    queued_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="manifest_push_due",
            )
        ]

    def __str__(self) -> str:
        return f"manifest v{self.version} to {self.partner_id}: {self.state}"


class RequestNonce(models.Model):
    """Replay protection for signed requests: a (keyid, nonce) is claimed once, with an
    INSERT that conflicts on a replay, and kept until the request could no longer verify.
    In PostgreSQL rather than the broker's Redis, so a Redis restart or FLUSHDB cannot make a
    captured request acceptable again. Pruned by beat."""

    pk = models.CompositePrimaryKey("keyid", "nonce")
    keyid = models.CharField(max_length=100)
    nonce = models.CharField(max_length=128)
    expires_at = models.BigIntegerField(help_text="epoch seconds; the row is pruned after it")

    def __str__(self) -> str:
        return f"{self.keyid} nonce {self.nonce[:8]}…"
