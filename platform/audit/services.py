"""Writes to the audit log. `record` is the one way in; other apps call it."""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from federation.protocol.audithead import chain_step

from .keyfile import mac_key
from .models import GENESIS, AuditEntry

CHAIN_LOCK = 0x6175_6401  # advisory-lock key: one writer appends at a time

Actor = AbstractBaseUser | AnonymousUser | str | None


def _plain(details: dict[str, Any] | None) -> dict[str, Any]:
    """Details as JSON would store them (strings for anything exotic, no floats)."""
    text = json.dumps(details or {}, default=str, sort_keys=True)
    loaded: dict[str, Any] = json.loads(text, parse_float=str)
    return loaded


def canonical(
    *,
    seq: int,
    at: datetime,
    actor: str,
    actor_id: int | None,
    action: str,
    target: str,
    details: dict[str, Any],
    prev_hash: str,
) -> bytes:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "actor_id": actor_id,
        "action": action,
        "target": target,
        "details": details,
        "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_mac(entry: AuditEntry, key: bytes | None = None) -> str:
    """HMAC-SHA256 of the entry's content (previous hash included) under the key kept outside
    the database: whoever can write the table but not read the key cannot forge an entry."""
    content = canonical(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        actor_id=entry.actor_id,
        action=entry.action,
        target=entry.target,
        details=entry.details,
        prev_hash=entry.prev_hash,
    )
    return hmac.new(key or mac_key(), content, hashlib.sha256).hexdigest()


def entry_hash(entry: AuditEntry, key: bytes | None = None) -> str:
    """The chain link: sha256(previous hash || MAC). Partners can check links from MACs alone
    (federation.protocol.audithead), without ever seeing an entry's content."""
    return chain_step(entry.prev_hash, entry_mac(entry, key))


def command_line_actor() -> str:
    """Who made a change from `manage.py`: the operating-system account that ran it."""
    return f"command:{getpass.getuser()}"


def _actor(actor: Actor) -> tuple[str, int | None]:
    if actor is None:
        return "system", None
    if isinstance(actor, str):
        return actor[:150] or "system", None
    if isinstance(actor, AnonymousUser) or not actor.is_authenticated:
        return "anonymous", None
    pk = actor.pk
    return actor.get_username()[:150], int(pk) if pk is not None else None


@transaction.atomic
def record(
    actor: Actor, action: str, target: str = "", details: dict[str, Any] | None = None
) -> AuditEntry:
    """Append one entry. Takes a transaction-scoped advisory lock so entries chain one after
    another; when called inside a caller's transaction the entry commits (or not) with it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
    last = AuditEntry.objects.order_by("-seq").only("seq", "hash").first()
    name, actor_id = _actor(actor)
    entry = AuditEntry(
        seq=(last.seq + 1) if last else 1,
        at=timezone.now(),
        actor=name,
        actor_id=actor_id,
        action=action[:60],
        target=str(target)[:200],
        details=_plain(details),
        prev_hash=last.hash if last else GENESIS,
    )
    entry.mac = entry_mac(entry)
    entry.hash = chain_step(entry.prev_hash, entry.mac)
    entry.save(force_insert=True)
    return entry


def record_read(
    actor: Actor,
    kind: str,
    target: str,
    classification: int,
    *,
    verb: str = "view",
    **details: Any,
) -> AuditEntry | None:
    """A read of classified content (above OFFICIAL), the same entry on every door: web page,
    analyst API or export (`verb` "export": `report.export`, `case.export`). OFFICIAL reads
    are not recorded, as the web UI has always done."""
    from core.markings import Classification

    if classification <= Classification.OFFICIAL:
        return None
    level = Classification(classification).name
    return record(actor, f"{kind}.{verb}", target, {"classification": level, **details})


class HiddenTarget(Exception):
    """Raised by a service for a target that exists but that the caller may not see (above
    their clearance): answered as "not found", audited as a refused attempt
    (`refusals_audited`). `classification` is the target's level, for the audit page's
    redaction."""

    classification: int = 0


def _refusal_details(action: str, reason: str, classification: int | None) -> dict[str, Any]:
    from core.markings import Classification

    details = {"action": action, "reason": reason[:300]}
    if classification:
        details["classification"] = Classification(classification).name
    return details


def record_hidden_read(
    actor: Actor, kind: str, target: str, classification: int | None, *, action: str = ""
) -> AuditEntry | None:
    """A request answered "not found" for something that exists (above the reader's
    clearance, or not released to them): the reader learns nothing, the log records the
    attempt (`action`: the mutation tried, or `<kind>.view` for a read). Nothing is recorded
    for what does not exist (`classification` None), so guessing ids is not an oracle through
    the log either."""
    if classification is None:
        return None
    details = _refusal_details(
        action or f"{kind}.view", "not visible to the caller", classification
    )
    return record(actor, "refused", target, details)


Service = TypeVar("Service", bound=Callable[..., Any])


def refusals_audited(action: str) -> Callable[[Service], Service]:
    """Wrap a mutation service so a refused attempt (PermissionDenied, or HiddenTarget: a
    target above the caller's clearance, answered as not found) leaves an audit entry on
    whichever door it came through. The entry is written after the service's own transaction
    rolled back, so the refusal is kept and nothing of the attempt is."""

    def decorate(service: Service) -> Service:
        @wraps(service)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                return service(*args, **kwargs)
            except (PermissionDenied, HiddenTarget) as exc:
                actor = kwargs.get("author", kwargs.get("user", args[0] if args else None))
                target = next((str(kwargs[k]) for k in _TARGET_KEYS if k in kwargs), "")
                if not target and len(args) > 1 and isinstance(args[1], int | str):
                    target = str(args[1])
                level = exc.classification if isinstance(exc, HiddenTarget) else None
                record(actor, "refused", target, _refusal_details(action, str(exc), level))
                raise

        return cast(Service, wrapped)

    return decorate


_TARGET_KEYS = ("report_id", "case_id", "change_id", "partner_code", "kid", "username")
