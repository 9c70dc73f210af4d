"""Reads of the audit log, and the chain check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from federation.protocol.audithead import chain_step

from .keyfile import mac_key
from .models import GENESIS, AuditEntry
from .services import entry_mac


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


def _links(prev_hash: str, mac: str, entry_hash: str) -> bool:
    try:
        return chain_step(prev_hash, mac) == entry_hash
    except ValueError:  # not hex: not written by `record`
        return False


def verify_chain(max_breaks: int = 50) -> ChainReport:
    """Recompute every entry's hash in order and check each links to the one before it."""
    breaks: list[ChainBreak] = []
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    key = mac_key()
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
        if entry_mac(entry, key) != entry.mac:
            breaks.append(ChainBreak(entry.seq, "content was changed after it was written"))
        if not _links(entry.prev_hash, entry.mac, entry.hash):
            breaks.append(ChainBreak(entry.seq, "the entry's hash does not match its MAC"))
        expected_prev = entry.hash
        expected_seq = entry.seq + 1
        if len(breaks) >= max_breaks:
            break
    return ChainReport(checked=checked, breaks=breaks, head=expected_prev)


def chain_macs(after_seq: int) -> tuple[int, str, list[str], str]:
    """Recompute the chain from its first entry (content and key, not the stored columns):
    (head seq, head hash, MACs of the entries after `after_seq`, hash at `after_seq`). A partner
    checks these against the head it stored (federation.protocol.audithead.judge)."""
    key = mac_key()
    head, seq, at_after = GENESIS, 0, GENESIS
    macs: list[str] = []
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        entry.prev_hash = head  # recomputed links: stored hashes prove nothing here
        mac = entry_mac(entry, key)
        head, seq = chain_step(head, mac), entry.seq
        if seq > after_seq:
            macs.append(mac)
        elif seq == after_seq:
            at_after = head
    return seq, head, macs, at_after


def recent_entries(action: str | None = None, actor: str | None = None) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.order_by("-seq")
    if action:
        entries = entries.filter(action__startswith=action)
    if actor:
        entries = entries.filter(actor=actor)
    return entries


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


ABOVE_CLEARANCE = "above your clearance"


def redacted_above(entries: Iterable[AuditEntry], clearance: int) -> list[AuditEntry]:
    """Entries as a reader cleared to `clearance` may see them: for an entry about classified
    content above that level (a read, publication or merge of a SECRET report, say), what and
    whom it names are withheld; that something happened, when and by whom stays visible.
    The rows are copies for display: nothing is saved."""
    from core.markings import Classification

    shown: list[AuditEntry] = []
    for entry in entries:
        level = str(entry.details.get("classification", "")) if entry.details else ""
        if level in Classification.__members__ and Classification[level] > clearance:
            entry.target = ABOVE_CLEARANCE
            entry.details = {"classification": ABOVE_CLEARANCE}
        shown.append(entry)
    return shown
