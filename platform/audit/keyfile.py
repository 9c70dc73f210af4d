"""The audit log's MAC key: 32 random bytes in a file outside the database (the node's data
directory, or the file AUDIT_MAC_KEY_FILE names). Created with mode 0600 from the start."""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from django.conf import settings

_lock = threading.Lock()
_cache: dict[Path, bytes] = {}


def mac_key() -> bytes:
    path = Path(settings.AUDIT_MAC_KEY_FILE)
    with _lock:
        cached = _cache.get(path)
        if cached is not None:
            return cached
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 32:
            raise RuntimeError(f"{path}: the audit MAC key must be at least 32 bytes (64 hex)")
        _cache[path] = key
        return key
