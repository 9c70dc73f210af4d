"""Celery tasks: thin, idempotent, taking codes and ids; the services do the work."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from federation.models import Partner, PartnerStatus

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None)
def deliver(self: Task, partner_code: str) -> int:
    """Deliver due rows to one partner, batch after batch, until none are due."""
    from federation.services.outbox import PartnerBusy, deliver_batch

    total = 0
    for _ in range(100):  # bounded; the sweeper picks up whatever is left
        try:
            settled = deliver_batch(partner_code)
        except PartnerBusy:
            # Look again shortly: rows committed after the other worker's last query would
            # otherwise wait for the sweeper.
            if total == 0 and self.request.retries < 3:
                raise self.retry(countdown=0.5) from None
            break
        total += settled
        if settled == 0:
            break
    return total


@shared_task
def sweep_outbox() -> int:
    """Beat: re-enqueue partners with due rows (a lost Celery message loses nothing), and
    queue again the copies held by a partner's policy whose wait is over."""
    from federation.services.outbox import partners_with_due_rows, resend_held_copies

    resent = resend_held_copies()  # these partners' deliveries are enqueued by the service
    codes = [code for code in partners_with_due_rows() if code not in resent]
    for code in codes:
        deliver.delay(code)
    return len(codes) + len(resent)


@shared_task
def catch_up(partner_code: str, only_if_gap: bool = False) -> int:
    from federation.services.catchup import pull_from

    partner = Partner.objects.filter(code=partner_code, status=PartnerStatus.ACTIVE).first()
    if partner is None or (only_if_gap and not partner.received_ahead):
        return 0
    return pull_from(partner)


@shared_task
def catch_up_all() -> int:
    codes = list(Partner.objects.filter(status=PartnerStatus.ACTIVE).values_list("code", flat=True))
    for code in codes:
        catch_up.delay(code)
    return len(codes)


@shared_task
def refresh_manifests() -> int:
    """Beat: refresh each partner's manifest well before it expires."""
    from federation.client import PartnerUnreachable
    from federation.protocol.errors import ProtocolError
    from federation.services.partners import refresh_manifest

    refreshed = 0
    for partner in Partner.objects.filter(status=PartnerStatus.ACTIVE):
        try:
            refresh_manifest(partner)
            refreshed += 1
        except (PartnerUnreachable, ProtocolError) as exc:
            log.warning("manifest of %s not refreshed: %s", partner.code, exc)
    return refreshed


@shared_task
def refresh_manifest_of(partner_code: str) -> bool:
    """A partner's item was signed with a key we do not know: it may have rotated and its
    notice not reached us. Fetch its manifest now, so the sender's retry finds the key."""
    from federation.client import PartnerUnreachable
    from federation.protocol.errors import ProtocolError
    from federation.services.partners import UnsafePartnerURL, refresh_manifest

    partner = Partner.objects.filter(code=partner_code, status=PartnerStatus.ACTIVE).first()
    if partner is None:
        return False
    try:
        refresh_manifest(partner)
    except (PartnerUnreachable, ProtocolError, UnsafePartnerURL) as exc:
        log.warning("manifest of %s not refreshed after an unknown key: %s", partner_code, exc)
        return False
    return True


@shared_task
def reissue_manifest() -> int:
    """Beat: the root is offline, so nothing is signed here. The ceremony signed a series of
    manifests ahead of time; this checks which one is served and warns before it runs out."""
    from federation.services.keys import check_series

    return check_series()


@shared_task
def push_manifest_to(partner_code: str) -> bool:
    """Send our newest manifest to one partner (queue `manifests`, never behind deliveries);
    a failure is retried with backoff by the sweep, from the durable row."""
    from federation.services.manifest_push import send_manifest_push

    return send_manifest_push(partner_code)


@shared_task
def sweep_manifest_pushes() -> int:
    """Beat: send the manifest pushes that are due (retries, and messages Redis lost)."""
    from federation.services.manifest_push import partners_with_due_pushes

    codes = partners_with_due_pushes()
    for code in codes:
        push_manifest_to.delay(code)
    return len(codes)


@shared_task
def prune_nonces() -> int:
    """Beat: forget request nonces whose requests could no longer verify anyway."""
    from federation.noncestore import prune_expired_nonces

    return prune_expired_nonces()


@shared_task
def publish_audit_heads() -> int:
    """Beat, hourly: our signed audit-chain head to every partner (they keep it as evidence)."""
    from federation.services.audit_anchor import publish_heads

    return publish_heads()
