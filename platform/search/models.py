"""What search reads: one document per report (its current version), and the words seen in
them, so a misspelt word can be matched to the words that exist (pg_trgm similarity)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from reports.models import Report


class SearchDocument(models.Model):
    """The current version of a report as text to search, rebuilt whenever a version is written.

    `document` weighs the title and the names of parties (A), serials and shipment references
    (B), summary and details text (C) and change notes (D). `head` holds the title (weight A),
    the names and the identifiers alone: a match there ranks above a match in the text, and its
    own small index finds those matches without reading the long documents. `identifiers`
    holds serials and shipment references upper-cased, for exact lookups and "other reports
    with this serial".
    """

    report = models.OneToOneField(
        Report, primary_key=True, on_delete=models.CASCADE, related_name="search_document"
    )
    document = SearchVectorField()
    head = SearchVectorField()
    identifiers = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    # The report's updated_at when its current version was written: search orders by it, and
    # its index lets a common match be read newest first without touching every match.
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["-updated_at", "-report"], name="search_document_newest"),
            GinIndex(fields=["document"], name="search_document_fts"),
            GinIndex(fields=["head"], name="search_document_head"),
            GinIndex(fields=["identifiers"], name="search_document_identifiers"),
        ]

    def __str__(self) -> str:
        return f"search document of {self.report_id}"


class SearchTerm(models.Model):
    """A word that occurs in some search document (the lexicon fuzzy matching looks in)."""

    term = models.CharField(max_length=100, primary_key=True)

    class Meta:
        indexes = [GinIndex(OpClass("term", name="gin_trgm_ops"), name="search_term_trgm")]

    def __str__(self) -> str:
        return self.term
