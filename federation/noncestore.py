"""Replay protection and node-wide rate limits.

Request nonces live in PostgreSQL (`RequestNonce`): the broker's Redis may restart without AOF
or be flushed, and a captured signed request must not become acceptable again inside its
window. One indexed INSERT per request (a batch of up to 100 reports), in autocommit, so the
claim stands even if the request's own work later rolls back. Rate limits (`first_in_window`)
stay in Redis: losing one costs an extra manifest fetch, never a replay.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import connection

from .models import RequestNonce

_client: redis.Redis | None = None

# A conflicting row that has expired (not pruned yet) is taken over, as Redis' EX would have
# let it go; a live one is a replay and returns no row.
_CLAIM_SQL = (
    "INSERT INTO federation_requestnonce (keyid, nonce, expires_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (keyid, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at "
    "WHERE federation_requestnonce.expires_at <= %s RETURNING 1"
)


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    return _client


class DatabaseNonceStore:
    def check_and_store(self, keyid: str, nonce: str, ttl_seconds: int) -> bool:
        """True the first time (keyid, nonce) is seen within its lifetime, False on a replay."""
        now = int(time.time())
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [keyid, nonce, now + max(ttl_seconds, 1), now])
            return cursor.fetchone() is not None


def prune_expired_nonces(now: int | None = None) -> int:
    """Delete nonces whose requests can no longer verify anyway. Returns how many."""
    at = int(time.time()) if now is None else now
    deleted, _ = RequestNonce.objects.filter(expires_at__lte=at).delete()
    return deleted


def first_in_window(name: str, seconds: int) -> bool:
    """True at most once per `seconds` for `name` across this node's processes (rate limits)."""
    key = f"node-{settings.NODE_CODE}:fed:once:{name}"
    return bool(_redis().set(key, b"1", nx=True, ex=max(seconds, 1)))
