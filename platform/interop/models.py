"""TAXII 2.1 collections and the object store behind them; STIX imports and pull schedules.

`StixObject` holds one row per version of every STIX object this node serves: the projection of
each published version of a report (written in the version's own transaction), the shared
definitions (report = NULL) and objects added to a writable collection. Each row copies the
markings of the version it came from, so a read never needs to rebuild STIX.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from reports.models import CLASSIFICATION_CHOICES, TLP_CHOICES, Category, Report


class TaxiiCollection(models.Model):
    """A collection an administrator defined: a filter over what the reader may see anyway."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.CharField(max_length=1000, blank=True)
    alias = models.SlugField(max_length=60, unique=True, null=True, blank=True)
    can_read = models.BooleanField(default=True)
    can_write = models.BooleanField(
        default=False, help_text="objects added here are imported as draft reports"
    )
    max_classification = models.PositiveSmallIntegerField(
        choices=CLASSIFICATION_CHOICES, null=True, blank=True, help_text="empty: no ceiling"
    )
    tlp = ArrayField(
        models.CharField(max_length=12, choices=TLP_CHOICES),
        default=list,
        blank=True,
        help_text="TLP colours served; empty: all",
    )
    categories = ArrayField(
        models.CharField(max_length=20, choices=Category.choices), default=list, blank=True
    )
    origins = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    releasable_to = models.CharField(
        max_length=8, blank=True, help_text="a node code: only reports whose REL TO names it"
    )
    include_orcon = models.BooleanField(default=False, verbose_name="include ORCON")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "TAXII collection"

    def __str__(self) -> str:
        return self.title


class StixObject(models.Model):
    seq = models.BigAutoField(primary_key=True)
    stix_id = models.CharField(max_length=120)
    stix_type = models.CharField(max_length=60)
    spec_version = models.CharField(max_length=8, default="2.1")
    version = models.DateTimeField(help_text="TAXII version: modified, else created")
    date_added = models.DateTimeField()
    is_latest = models.BooleanField(default=True)
    is_first = models.BooleanField(default=True)
    body = models.JSONField()
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    report_version = models.PositiveIntegerField(null=True, blank=True)
    collection = models.ForeignKey(
        TaxiiCollection,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="set for objects added to this collection; empty: served by filter",
    )
    classification = models.PositiveSmallIntegerField(choices=CLASSIFICATION_CHOICES, default=0)
    tlp = models.CharField(max_length=12, blank=True)
    category = models.CharField(max_length=20, blank=True)
    origin = models.CharField(max_length=8, blank=True)
    rel_nodes = ArrayField(models.CharField(max_length=8), default=list, blank=True)
    orcon = models.BooleanField(default=False)

    class Meta:
        verbose_name = "STIX object version"
        indexes = [
            models.Index(fields=["date_added", "seq"], name="stixobj_added_seq"),
            models.Index(
                fields=["date_added", "seq"],
                name="stixobj_latest_added_seq",
                condition=models.Q(is_latest=True),
            ),
            models.Index(fields=["stix_id", "version"], name="stixobj_id_version"),
            models.Index(fields=["report", "report_version"], name="stixobj_report"),
        ]
        constraints = [
            # Shared definitions are served once: concurrent writers skip what is held.
            models.UniqueConstraint(
                fields=["stix_id", "version"],
                condition=models.Q(report__isnull=True, collection__isnull=True),
                name="one_shared_definition",
            )
        ]

    def __str__(self) -> str:
        return f"{self.stix_id} @ {self.version.isoformat()}"


class TaxiiStatus(models.Model):
    """The status resource of one add-objects request (kept for its owner only)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    collection = models.ForeignKey(TaxiiCollection, on_delete=models.CASCADE)
    status = models.CharField(max_length=10, default="complete")
    request_timestamp = models.DateTimeField(auto_now_add=True)
    total_count = models.PositiveIntegerField(default=0)
    successes = models.JSONField(default=list, blank=True)
    failures = models.JSONField(default=list, blank=True)
    pendings = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "TAXII status"
        verbose_name_plural = "TAXII statuses"

    def __str__(self) -> str:
        return f"status {self.id}"


class PullSource(models.Model):
    """A collection of another TAXII 2.1 server pulled on a schedule into draft reports."""

    name = models.CharField(max_length=200)
    collection_url = models.URLField(
        max_length=500, help_text="…/<api-root>/collections/<id>/ of the other server"
    )
    username = models.CharField(max_length=150, blank=True)
    secret = models.CharField(
        max_length=500, blank=True, help_text="password or token for the other server"
    )
    interval_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="imported drafts are written as this analyst (their clearance applies)",
    )
    added_after = models.CharField(max_length=40, blank=True, help_text="high-water mark")
    last_pulled_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    """One accepted bundle (upload, TAXII add-objects or pull)."""

    source = models.CharField(max_length=500, help_text="who or where the bundle came from")
    pull_source = models.ForeignKey(PullSource, null=True, blank=True, on_delete=models.SET_NULL)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_count = models.PositiveIntegerField(default=0)
    new_objects = models.PositiveIntegerField(default=0)
    reports_created = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"import {self.pk} from {self.source}"


class ImportedObject(models.Model):
    """Every object version ever imported, mapped or not: re-importing it creates nothing."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="imported_objects")
    stix_id = models.CharField(max_length=120)
    stix_type = models.CharField(max_length=60)
    version = models.CharField(max_length=40, help_text="modified, created, or empty")
    body = models.JSONField()
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mapped = models.BooleanField(help_text="False: kept as received, shown beside the draft")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stix_id", "version"], name="one_import_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.stix_id} ({'mapped' if self.mapped else 'kept'})"


class ImportedReport(models.Model):
    """A local draft made from an imported STIX object, with where it came from."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="imported")
    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="reports")
    stix_id = models.CharField(max_length=120, unique=True)
    source = models.CharField(max_length=500)
    original_marking = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.report_id} from {self.source}"
