"""Private keys on disk in the node's data directory, mode 0600; never in the database or logs."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from django.conf import settings

from .protocol.keys import NodeKey

_cache: dict[str, NodeKey] = {}
_lock = threading.Lock()


def key_dir() -> Path:
    path = Path(settings.DATA_DIR) / "keys"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(kid: str) -> Path:
    safe = kid.replace(":", "_").replace("/", "_")
    return key_dir() / f"{safe}.pem"


def store(key: NodeKey) -> None:
    path = _path(key.kid)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.to_pem())
    with _lock:
        _cache[key.kid] = key


def load(kid: str, node: str, use: str) -> NodeKey:
    with _lock:
        cached = _cache.get(kid)
    if cached is not None:
        return cached
    key = NodeKey.from_pem(_path(kid).read_bytes(), node, use)
    if key.kid != kid:
        raise RuntimeError(f"key file for {kid} holds another key")
    with _lock:
        _cache[kid] = key
    return key


def destroy(kid: str) -> None:
    """Revoked keys are deleted from disk: nothing may sign with them again."""
    with _lock:
        _cache.pop(kid, None)
    path = _path(kid)
    if path.exists():
        path.unlink()
