"""Cases (reports grouped by shared keys), their stored features, scores and explanations."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

from reports.models import CLASSIFICATION_CHOICES, Report


class ConfigState(models.TextChoices):
    """A configuration's life: a refit is *proposed* (fitted, evaluated, not used), a second
    trust administrator makes it *active* or *rejected*; an active one is *retired* when
    another becomes active. Configurations activated from a file start active."""

    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"
    REJECTED = "rejected", "Rejected"


class ScoringConfigVersion(models.Model):
    """Weights, priors and decay of the risk score. Each stored score names the version that
    made it; activating a version rescores every case."""

    version = models.CharField(max_length=40, unique=True)
    config = models.JSONField(help_text="riskscore.engine.ScoringConfig.to_dict()")
    state = models.CharField(
        max_length=10, choices=ConfigState.choices, default=ConfigState.PROPOSED, db_index=True
    )
    evaluation = models.JSONField(
        default=dict,
        blank=True,
        help_text="for a refit: the held-out comparison with the configuration it started from",
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="who activated it from a file, or proposed the refit",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the second administrator who activated or rejected a proposed refit",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="active"),
                name="one_active_config",
            ),
            # Nobody activates a refit they proposed (the service refuses it first).
            models.CheckConstraint(
                condition=~models.Q(state="active")
                | models.Q(decided_by__isnull=True)
                | ~models.Q(decided_by=models.F("created_by")),
                name="activated_by_a_second_administrator",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.state})"

    @property
    def active(self) -> bool:
        return self.state == ConfigState.ACTIVE


class ScreeningList(models.Model):
    """One imported screening list (US CSL or OFAC SDN layout); only one is active."""

    name = models.CharField(max_length=200)
    layout = models.CharField(max_length=20)
    entries_count = models.PositiveIntegerField()
    active = models.BooleanField(default=False)
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_list"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.entries_count} entries)"


class ScreeningEntry(models.Model):
    screening_list = models.ForeignKey(
        ScreeningList, on_delete=models.CASCADE, related_name="entries"
    )
    entry_id = models.CharField(max_length=100)
    data = models.JSONField(help_text="name, alt_names, addresses, source, programs")

    class Meta:
        verbose_name_plural = "screening entries"

    def __str__(self) -> str:
        return str(self.data.get("name", self.entry_id))


class CaseStatus(models.TextChoices):
    """An analyst's workflow state. The two closed states are the labels the scoring model
    learns from: `closed_confirmed` = 1 (a real diversion), `closed_dismissed` = 0."""

    NEW = "new", "New"
    IN_REVIEW = "in_review", "In review"
    ESCALATED = "escalated", "Escalated"
    CLOSED_CONFIRMED = "closed_confirmed", "Closed: confirmed"
    CLOSED_DISMISSED = "closed_dismissed", "Closed: dismissed"


CLOSED_STATUSES = (CaseStatus.CLOSED_CONFIRMED, CaseStatus.CLOSED_DISMISSED)


class Case(models.Model):
    """A case is an identity: its id lives for ever (regrouping updates it in place), it holds
    reports of one classification only, and its workflow (status, assignee, notes) survives
    every regrouping."""

    title = models.CharField(max_length=200)
    category = models.CharField(max_length=20, blank=True)
    classification = models.PositiveSmallIntegerField(choices=CLASSIFICATION_CHOICES)
    keys = ArrayField(
        models.CharField(max_length=300),
        default=list,
        blank=True,
        help_text="exact linking keys of its reports (serials, consignees...)",
    )
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    origins = ArrayField(
        models.CharField(max_length=8),
        default=list,
        blank=True,
        help_text="independent originating nodes (relayed copies excluded)",
    )
    report_count = models.PositiveIntegerField(default=0)
    features = models.BinaryField(
        default=bytes,
        blank=True,
        help_text="feature vector (float64, little-endian) in the config's order; NaN = missing",
    )
    links = models.JSONField(default=list, blank=True, help_text="why its reports are linked")
    latest_event = models.DateField(null=True, blank=True)
    flagged = models.BooleanField(
        default=False, help_text="grew without cohesion: an analyst should look at its links"
    )
    status = models.CharField(
        max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    disposition_reason = models.TextField(
        blank=True, help_text="why the case was closed (confirmed or dismissed)"
    )
    created_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(
        default=timezone.now,
        help_text="when its reports, score or workflow last changed (for 'new since I looked')",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            GinIndex(fields=["keys"]),
            GinIndex(fields=["countries"]),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
        ]
        constraints = [
            # The target of CaseMember's (case, classification) key: one level per case.
            models.UniqueConstraint(fields=["id", "classification"], name="case_id_level"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk}: {self.title}"


class CaseScore(models.Model):
    """A case's score and explanation, in a narrow table of their own: rescoring every case
    rewrites these rows only, not the case rows with their GIN-indexed keys (5 s -> 1.6 s for
    100,000 cases here)."""

    case = models.OneToOneField(
        Case, on_delete=models.CASCADE, primary_key=True, related_name="scored"
    )
    classification = models.PositiveSmallIntegerField(choices=CLASSIFICATION_CHOICES)
    score = models.FloatField()
    baseline = models.FloatField()
    contributions = models.JSONField(
        default=list, help_text="largest first; they add up to score - baseline"
    )
    config_version = models.CharField(max_length=40)
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["classification", "-score", "case"], name="case_queue")]

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.score:.1f}"


class CaseMember(models.Model):
    """A report's place in a case, with its level and blocking keys: the keys find a new or
    changed report's neighbourhood (the cases it may join) through a GIN index, and a foreign
    key on (case, classification) makes a case of two levels impossible in the database."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="members")
    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="case_member")
    classification = models.PositiveSmallIntegerField(choices=CLASSIFICATION_CHOICES)
    version = models.PositiveIntegerField(default=0, help_text="the version last grouped")
    keys = ArrayField(models.CharField(max_length=300), default=list, blank=True)

    class Meta:
        # No pending list: every scoring batch probes this index right after writing to it, and
        # a search walks the whole unmerged list once per key (0.6 s for a batch of 500 reports
        # over 5,000 fresh rows, against 30 ms with the list merged).
        indexes = [GinIndex(fields=["keys"], name="casemember_keys", fastupdate=False)]

    def __str__(self) -> str:
        return f"{self.report_id} in case {self.case_id}"


class CaseOverride(models.Model):
    """An analyst's merge or split: the grouping honours it from then on."""

    KEEP_APART = "apart"
    KEEP_TOGETHER = "together"
    report_a = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    report_b = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(
        max_length=10, choices=[(KEEP_APART, "keep apart"), (KEEP_TOGETHER, "keep together")]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.report_a_id} {self.kind} {self.report_b_id}"


class CaseRedirect(models.Model):
    """An id that no longer names a case (merged into another): links, bookmarks and API
    clients that use it are sent to where its reports went."""

    old_id = models.BigIntegerField(primary_key=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="redirects")
    reason = models.CharField(max_length=20, default="merged")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"case {self.old_id} -> {self.case_id}"


class CaseNote(models.Model):
    """An analyst's note on a case (kept when the case is regrouped)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["case", "-created_at"], name="casenote_case")]

    def __str__(self) -> str:
        return f"note on case {self.case_id} by {self.author_id}"


class CaseSeen(models.Model):
    """When a user last looked at a case: the queue shows what is new or changed since."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "case"], name="case_seen_once")]

    def __str__(self) -> str:
        return f"{self.user_id} saw case {self.case_id} at {self.seen_at}"


class PendingScoring(models.Model):
    """Reports whose cases must be regrouped and rescored: written in the same transaction as
    the report's version (like the delivery outbox), drained by the scoring worker in batches
    and swept by beat, so a scoring message Redis lost delays a report by seconds only."""

    report = models.OneToOneField(
        Report, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    queued_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["queued_at"], name="pendingscoring_queued")]

    def __str__(self) -> str:
        return f"{self.report_id} queued {self.queued_at}"
