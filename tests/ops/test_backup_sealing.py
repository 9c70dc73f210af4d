"""Backups are sealed: a wrong passphrase, a flipped bit, a dropped or truncated chunk all fail
to open, and nothing partial comes out."""

from __future__ import annotations

import io
import os

import pytest

from ops import backup
from ops.backup import BackupError, seal, unseal

PASSPHRASE = b"invented passphrase for tests"


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup, "CHUNK", 1024)


def _sealed(data: bytes) -> bytes:
    out = io.BytesIO()
    seal(io.BytesIO(data), out, PASSPHRASE)
    return out.getvalue()


def _open(blob: bytes, passphrase: bytes = PASSPHRASE) -> bytes:
    return b"".join(unseal(io.BytesIO(blob), passphrase))


@pytest.mark.parametrize("size", [0, 1, 1024, 5000])
def test_what_is_sealed_opens_unchanged(size: int) -> None:
    data = os.urandom(size)
    blob = _sealed(data)
    # Plaintext does not show through; a prefix shorter than 16 bytes could occur in the
    # ciphertext by chance (one byte does about one run in ten): only long ones are looked for.
    assert size < 16 or data[:16] not in blob
    assert _open(blob) == data


def test_a_wrong_passphrase_opens_nothing() -> None:
    with pytest.raises(BackupError, match="wrong passphrase"):
        _open(_sealed(b"x" * 3000), b"another invented passphrase")


def test_a_flipped_bit_is_found() -> None:
    blob = bytearray(_sealed(b"x" * 3000))
    blob[len(blob) // 2] ^= 1
    with pytest.raises(BackupError):
        _open(bytes(blob))


def test_a_truncated_backup_is_found_even_at_a_chunk_boundary() -> None:
    blob = _sealed(b"y" * 4096)
    header = len(backup.MAGIC) + backup._HEADER.size
    first_chunk_end = header + 4 + 1024 + 16
    with pytest.raises(BackupError):
        _open(blob[:first_chunk_end])
    with pytest.raises(BackupError):
        _open(blob[:-1])


def test_a_short_passphrase_is_refused() -> None:
    with pytest.raises(BackupError, match="at least 12"):
        seal(io.BytesIO(b"d"), io.BytesIO(), b"short")
