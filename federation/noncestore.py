"""Replay protection: each request nonce is remembered in Redis until it could expire anyway."""

from __future__ import annotations

import redis
from django.conf import settings

from .protocol.httpsig import nonce_key

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    return _client


class RedisNonceStore:
    def check_and_store(self, keyid: str, nonce: str, ttl_seconds: int) -> bool:
        """True the first time (keyid, nonce) is seen within its lifetime, False on a replay."""
        key = f"node-{settings.NODE_CODE}:fed:nonce:{nonce_key(keyid, nonce)}"
        return bool(_redis().set(key, b"1", nx=True, ex=max(ttl_seconds, 1)))


def first_in_window(name: str, seconds: int) -> bool:
    """True at most once per `seconds` for `name` across this node's processes (rate limits)."""
    key = f"node-{settings.NODE_CODE}:fed:once:{name}"
    return bool(_redis().set(key, b"1", nx=True, ex=max(seconds, 1)))
