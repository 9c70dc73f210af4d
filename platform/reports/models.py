"""Reports and their immutable versions, STIX 2.1-aligned (a report is a STIX `report` SDO whose
`object_refs` are the linked entities; `x_markings` carries classification, REL TO, ORCON and TLP).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from core.markings import Classification


class Category(models.TextChoices):
    CHIP_DIVERSION = "chip_diversion", "AI-chip diversion"
    MILITARY_AI = "military_ai", "Military-AI development"
    CLOUD_COMPUTE = "cloud_compute", "Cloud-compute misuse"
    MODEL_WEIGHTS = "model_weights", "Model-weights proliferation"
    AI_INCIDENT = "ai_incident", "Autonomous / self-replicating AI incident"
    OTHER = "other", "Other"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Reliability(models.TextChoices):
    """Admiralty source reliability (NATO AJP-2.1)."""

    A = "A", "A: completely reliable"
    B = "B", "B: usually reliable"
    C = "C", "C: fairly reliable"
    D = "D", "D: not usually reliable"
    E = "E", "E: unreliable"
    F = "F", "F: reliability cannot be judged"


CREDIBILITY_CHOICES = [
    (1, "1: confirmed by other sources"),
    (2, "2: probably true"),
    (3, "3: possibly true"),
    (4, "4: doubtful"),
    (5, "5: improbable"),
    (6, "6: truth cannot be judged"),
]
CLASSIFICATION_CHOICES = [(level.value, level.name) for level in Classification]
TLP_CHOICES = [(c, f"TLP:{c.upper()}") for c in ("clear", "green", "amber", "amber+strict", "red")]


class MarkedContent(models.Model):
    """Fields shared by a report version and the report's current-version summary."""

    title = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    classification = models.PositiveSmallIntegerField(choices=CLASSIFICATION_CHOICES)
    rel_to = ArrayField(models.CharField(max_length=8), help_text="REL TO: node codes and groups")
    rel_nodes = ArrayField(
        models.CharField(max_length=8), help_text="REL TO with groups expanded to node codes"
    )
    orcon = models.BooleanField(default=False, verbose_name="ORCON")
    tlp = models.CharField(max_length=12, choices=TLP_CHOICES, verbose_name="TLP")
    event_start = models.DateField(null=True, blank=True)
    event_end = models.DateField(null=True, blank=True)
    countries = ArrayField(
        models.CharField(max_length=2),
        default=list,
        blank=True,
        help_text="ISO 3166 alpha-2 codes named anywhere in the report (route, parties)",
    )

    class Meta:
        abstract = True


class Report(MarkedContent):
    """A report's identity and a copy of its current version's fields for fast, scoped lists."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    origin = models.CharField(max_length=8, db_index=True)
    current_version = models.PositiveIntegerField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="local author; empty for reports received from partners",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "classification", "-updated_at"]),
            models.Index(fields=["category", "-updated_at"]),
            GinIndex(fields=["countries"]),
            GinIndex(fields=["rel_nodes"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.origin} v{self.current_version})"


class ReportVersion(MarkedContent):
    """One immutable version: every edit makes a new row; history is never rewritten."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    summary = models.TextField(max_length=20_000)
    source_reliability = models.CharField(max_length=1, choices=Reliability.choices)
    info_credibility = models.PositiveSmallIntegerField(choices=CREDIBILITY_CHOICES)
    details = models.JSONField(default=dict, blank=True)
    change_note = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "version"], name="one_row_per_version"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="version_from_one"),
        ]
        ordering = ["report", "version"]

    def __str__(self) -> str:
        return f"{self.report_id} v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError("report versions are immutable; make a new version instead")
        super().save(*args, **kwargs)


class EntityKind(models.TextChoices):
    ORGANISATION = "organisation", "Organisation"
    PERSON = "person", "Person"
    ADDRESS = "address", "Address"
    COUNTRY = "country", "Country"


class EntityRole(models.TextChoices):
    CONSIGNEE = "consignee", "Consignee"
    INTERMEDIARY = "intermediary", "Intermediary"
    END_USER = "end_user", "End user"
    OFFICER = "officer", "Officer"
    REGISTERED_ADDRESS = "registered_address", "Registered address"
    SHAREHOLDER = "shareholder", "Shareholder"
    SUBJECT = "subject", "Subject"
    DEVELOPER = "developer", "Developer"
    PROVIDER = "provider", "Provider"
    CUSTOMER = "customer", "Customer"


class Entity(models.Model):
    """An organisation, person, address or country, shared by every report that names it."""

    kind = models.CharField(max_length=16, choices=EntityKind.choices)
    name = models.CharField(max_length=300)
    normalized_name = models.CharField(max_length=300, db_index=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        verbose_name_plural = "entities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "normalized_name", "country"], name="one_entity_per_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}{', ' + self.country if self.country else ''})"


class ReportEntity(models.Model):
    version = models.ForeignKey(ReportVersion, on_delete=models.CASCADE, related_name="links")
    entity = models.ForeignKey(Entity, on_delete=models.PROTECT, related_name="links")
    role = models.CharField(max_length=20, choices=EntityRole.choices)

    class Meta:
        verbose_name = "report–entity link"
        constraints = [
            models.UniqueConstraint(fields=["version", "entity", "role"], name="one_link_per_role")
        ]

    def __str__(self) -> str:
        return f"{self.entity} as {self.role}"
