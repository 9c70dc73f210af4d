"""Pushing our key manifest to partners: a revocation must reach every one of them.

A key ceremony's import owes the newest manifest to every active partner in its own
transaction (one `ManifestPush` row per partner; a newer manifest supersedes a pending push).
The `manifests` queue sends them, away from the delivery backlog; a failed push is retried with
capped exponential backoff until the partner acknowledges, and beat sweeps due rows every few
seconds, so a lost Celery message costs seconds, not a revocation.

A send claims its row for the length of an HTTP call (the lease is `next_attempt_at`) and
commits before calling out, so a ceremony never waits on a slow partner; the answer is written
only if no newer manifest was queued meanwhile.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.enqueue import after_commit
from federation.dbtext import clean_text
from federation.models import ManifestPush, ManifestPushState, Partner, PartnerStatus
from federation.protocol.errors import RETRYABLE_CODES

log = logging.getLogger(__name__)

PUSH_TASK = "federation.tasks.push_manifest_to"


def queue_manifest_pushes(version: int) -> list[str]:
    """Owe manifest `version` to every active partner, inside the caller's transaction; the
    sends go out after commit. Returns the partner codes."""
    now = timezone.now()
    codes: list[str] = []
    # The partner rows are locked now, not by the foreign-key check at commit: a ceremony's
    # audit entry holds the audit chain until then, and a worker holding a partner's row while
    # it waits for the chain made that check a deadlock (found by the fault suite's soak).
    active = Partner.objects.filter(status=PartnerStatus.ACTIVE).order_by("code")
    for partner in active.select_for_update(no_key=True):
        ManifestPush.objects.update_or_create(
            partner=partner,
            defaults={
                "version": version,
                "state": ManifestPushState.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "queued_at": now,
            },
        )
        codes.append(partner.code)
    for code in codes:
        after_commit(PUSH_TASK, code)
    return codes


def _backoff_seconds(attempts: int) -> float:
    cap = float(settings.FEDERATION_MANIFEST_PUSH_BACKOFF_CAP_S)
    # Jitter below the cap only: a partner back from an outage hears within `cap` seconds.
    return min(cap, 2.0 ** min(attempts - 1, 20)) * random.uniform(0.5, 1.0)


def _claim(partner_code: str, now: datetime) -> ManifestPush | None:
    with transaction.atomic():
        row = (
            ManifestPush.objects.select_for_update(skip_locked=True)
            .select_related("partner")
            .filter(
                partner__code=partner_code,
                partner__status=PartnerStatus.ACTIVE,
                state=ManifestPushState.PENDING,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if row is None:
            return None
        row.attempts += 1
        # The lease: no other worker sends while this call may still be under way.
        lease = settings.FEDERATION_HTTP_TIMEOUT_S + 5
        row.next_attempt_at = now + timedelta(seconds=lease)
        row.save(update_fields=["attempts", "next_attempt_at"])
        return row


def send_manifest_push(partner_code: str) -> bool:
    """Send the served manifest to one partner if its push is due. True if acknowledged."""
    from federation.client import PartnerUnreachable, signed_request

    from .keys import latest_manifest

    row = _claim(partner_code, timezone.now())
    if row is None:
        return False
    manifest = latest_manifest()
    if manifest is None:
        _settle(row, ManifestPushState.PENDING, "no manifest is served: run the key ceremony")
        return False
    try:
        answer = signed_request(row.partner, "POST", "/fed/v1/keys/notify", dict(manifest.body))
    except PartnerUnreachable as exc:
        _settle(row, ManifestPushState.PENDING, str(exc))
        return False
    body = answer.body if isinstance(answer.body, dict) else {}
    code = str(body.get("code", ""))
    if answer.status == 200:
        _settle(row, ManifestPushState.ACKNOWLEDGED, "", acknowledged=manifest.version)
        return True
    # A refusal that may turn out differently later is retried; any other one (the partner
    # does not know us, or will not take this manifest) is shown on the health page and not
    # sent again until the next ceremony (the partner's hourly refresh still fetches it).
    retry = code in RETRYABLE_CODES
    state = ManifestPushState.PENDING if retry else ManifestPushState.REFUSED
    _settle(row, state, f"HTTP {answer.status} {code}: {body.get('reason', '')}")
    return False


def _settle(row: ManifestPush, state: str, error: str, *, acknowledged: int | None = None) -> None:
    """Record the outcome, unless a newer manifest was queued while this one was in flight."""
    now = timezone.now()
    fields: dict[str, object] = {"state": state, "last_error": clean_text(error, 500)}
    if acknowledged is not None:
        fields.update(acknowledged_version=acknowledged, acknowledged_at=now)
    else:
        fields["next_attempt_at"] = now + timedelta(seconds=_backoff_seconds(row.attempts))
        log.warning(
            "manifest push to %s failed (attempt %d): %s", row.partner.code, row.attempts, error
        )
    ManifestPush.objects.filter(pk=row.pk, queued_at=row.queued_at).update(**fields)


def partners_with_due_pushes() -> list[str]:
    return list(
        ManifestPush.objects.filter(
            state=ManifestPushState.PENDING,
            next_attempt_at__lte=timezone.now(),
            partner__status=PartnerStatus.ACTIVE,
        )
        .order_by("partner__code")
        .values_list("partner__code", flat=True)
    )
