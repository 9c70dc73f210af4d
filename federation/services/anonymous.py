"""Requests to the partner API that no partner signed: counted, not recorded one by one, and
rate-limited per client address.

Anyone can send an unsigned request, one signed with a key we cannot verify it with, or one
whose signature does not verify; none of them can be put down to a partner. Each is counted in
its (code, path, client address, hour) row of `AnonymousRefusal` with one upsert, so a flood
writes a bounded number of rows and the trust console keeps partners' own refusals (full
`Refusal` rows) in sight.

The same refusals count towards the client address's allowance in Redis (a fixed window opened
by its first refusal). Once an address has used it, the partner API answers it `429
rate_limited` before reading the body, verifying anything or touching the database, for the
rest of the window; that refusal is counted once per window, not per request. A partner behind
the same address waits too (its sends are retried with backoff). If Redis does not answer, the
limit is not applied: a broker outage must not stop the federation.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from federation.dbtext import clean_text
from federation.noncestore import _redis, first_in_window

log = logging.getLogger(__name__)
RATE_LIMITED = "rate_limited"

_COUNT_SQL = (
    "INSERT INTO federation_anonymousrefusal "
    "(code, path, remote_addr, hour, count, reason, first_seen, last_seen) "
    "VALUES (%s, %s, %s, %s, 1, %s, %s, %s) "
    "ON CONFLICT (code, path, remote_addr, hour) DO UPDATE SET "
    "count = federation_anonymousrefusal.count + 1, reason = EXCLUDED.reason, "
    "last_seen = EXCLUDED.last_seen"
)


def _key(address: str) -> str:
    return f"node-{settings.NODE_CODE}:fed:anon:{address}"


def wait_seconds(address: str) -> int | None:
    """Seconds until `address` may be heard again if it used its allowance of refused
    anonymous requests in the current window; None if it has not (or Redis does not answer)."""
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.get(_key(address))
        pipe.ttl(_key(address))
        used, ttl = pipe.execute()
    except redis.RedisError as exc:
        log.warning("anonymous request limit not checked: %s", exc)
        return None
    if used is None or int(used) < settings.FEDERATION_ANONYMOUS_LIMIT:
        return None
    return max(int(ttl), 1)


def record(code: str, reason: str, *, remote_addr: str, path: str, counts: bool = True) -> None:
    """Count one refused anonymous request; with `counts`, also against the address's
    allowance (not for this node's own faults)."""
    if counts:
        try:
            pipe = _redis().pipeline(transaction=True)
            pipe.set(_key(remote_addr), 0, ex=settings.FEDERATION_ANONYMOUS_WINDOW_S, nx=True)
            pipe.incr(_key(remote_addr))
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("anonymous refusal not counted against %s: %s", remote_addr[:64], exc)
    _count(code, reason, remote_addr, path)


def record_rate_limited(reason: str, *, remote_addr: str, path: str) -> None:
    """Count a `rate_limited` answer, once per address and window (the rest are not written)."""
    window = settings.FEDERATION_ANONYMOUS_WINDOW_S
    try:
        first = first_in_window(f"anon-limited:{remote_addr}", window)
    except redis.RedisError:
        first = True
    if first:
        _count(RATE_LIMITED, reason, remote_addr, path)


def _count(code: str, reason: str, remote_addr: str, path: str) -> None:
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    key = (clean_text(code, 40), clean_text(path, 200), clean_text(remote_addr, 64))
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_COUNT_SQL, [*key, hour, clean_text(reason, 500), now, now])
    except DatabaseError:
        log.exception("anonymous refusal %s from %s not counted", code[:40], remote_addr[:64])
