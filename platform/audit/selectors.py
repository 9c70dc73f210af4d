"""Reads of the audit log, and the chain check."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from .models import GENESIS, AuditEntry
from .services import entry_hash


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    breaks: list[ChainBreak]
    head: str

    @property
    def intact(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> ChainBreak | None:
        return self.breaks[0] if self.breaks else None


def verify_chain(max_breaks: int = 50) -> ChainReport:
    """Recompute every entry's hash in order and check each links to the one before it."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        checked += 1
        if entry.seq != expected_seq:
            breaks.append(
                ChainBreak(entry.seq, f"sequence gap: expected #{expected_seq}, found #{entry.seq}")
            )
        if entry.prev_hash != expected_prev:
            breaks.append(
                ChainBreak(entry.seq, "previous-hash link does not match the entry before it")
            )
        recomputed = entry_hash(entry)
        if recomputed != entry.hash:
            breaks.append(ChainBreak(entry.seq, "content was changed after it was written"))
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
        if len(breaks) >= max_breaks:
            break
    return ChainReport(checked=checked, breaks=breaks, head=expected_prev)


def recent_entries(action: str | None = None, actor: str | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("-seq")
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor=actor)
    return entries


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())
