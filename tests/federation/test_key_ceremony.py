"""The offline root: the ceremony signs manifests ahead of time, the node serves them without
ever holding the root, rotation and revocation follow the runbook (infra/KEYS.md)."""

from __future__ import annotations

import stat
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from federation import keystore
from federation.models import KeyStatus, KeyUse, OwnKey, OwnManifest
from federation.protocol import ceremony
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import generate
from federation.protocol.manifest import ManifestView, verify_manifest
from federation.services import keys
from federation.tasks import reissue_manifest
from tests.support.ceremony import run_ceremony, session_root

PASSPHRASE = b"correct horse battery staple"


def served_view(root_fp: str, at: int | None = None) -> ManifestView:
    now = int(time.time()) if at is None else at
    served = keys.latest_manifest(now)
    assert served is not None
    return ManifestView(verify_manifest(dict(served.body), {root_fp}, None, now))


def test_the_root_key_file_is_encrypted_and_private_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "root.pem"
    root = ceremony.new_root_key("us", path, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert ceremony.load_root_key(path, PASSPHRASE, "us").kid == root.kid
    with pytest.raises(ProtocolError):
        ceremony.load_root_key(path, b"the wrong passphrase!", "us")
    with pytest.raises(FileExistsError):
        ceremony.new_root_key("us", path, PASSPHRASE)  # never overwrites a root
    plain = tmp_path / "plain.pem"
    plain.write_bytes(generate("us", "root").to_pem())
    with pytest.raises(ProtocolError, match="encrypted"):
        ceremony.load_root_key(plain, PASSPHRASE, "us")
    with pytest.raises(ProtocolError, match="passphrase"):
        ceremony.new_root_key("us", tmp_path / "weak.pem", b"short")


def test_a_series_is_served_window_by_window_without_the_root(db: Any) -> None:
    root = session_root("us")
    start = int(time.time()) - 60
    OwnManifest.objects.all().delete()
    request = keys.ceremony_request()
    series = ceremony.sign_series(request, root, start=start, windows=3, step=86400)
    stored = keys.import_series(ceremony.series_document(series, root))
    assert [m.version for m in stored] == [request["next_version"] + i for i in range(3)]
    # Each window opens a day after the one before and stays valid for 7 days.
    assert keys.latest_manifest(start + 10).version == stored[0].version  # type: ignore[union-attr]
    later = keys.latest_manifest(start + 2 * 86400 + 10)
    assert later is not None
    assert later.version == stored[2].version
    assert keys.latest_manifest(start + 2 * 86400 + 7 * 86400) is None  # series ran out
    # The daily beat task signs nothing: no new manifest, and no root key file on the node.
    before = OwnManifest.objects.count()
    assert reissue_manifest() == stored[0].version
    assert OwnManifest.objects.count() == before
    key_files = [p.name for p in Path(settings.DATA_DIR, "keys").iterdir()]
    assert not [name for name in key_files if "-root-" in name]
    assert keys.root_fingerprint() == root.public.fingerprint


def test_the_series_vouches_for_the_current_and_a_standby_key_of_each_use(db: Any) -> None:
    root_fp = session_root("us").public.fingerprint
    view = served_view(root_fp)
    now = int(time.time())
    for use in (KeyUse.REPORT, KeyUse.REQUEST):
        current = OwnKey.objects.get(use=use, status=KeyStatus.CURRENT)
        standby = OwnKey.objects.get(use=use, status=KeyStatus.STANDBY)
        assert view.key_for(current.kid, use, now).b64 == current.public_key
        assert view.key_for(standby.kid, use, now).b64 == standby.public_key


def test_rotation_uses_the_standby_partners_already_trust(db: Any) -> None:
    root_fp = session_root("us").public.fingerprint
    old = OwnKey.objects.get(use=KeyUse.REPORT, status=KeyStatus.CURRENT)
    versions = OwnManifest.objects.count()
    new = keys.rotate(KeyUse.REPORT)
    old.refresh_from_db()
    assert old.status == KeyStatus.RETIRED
    assert keys.current_key(KeyUse.REPORT).kid == new.kid
    assert OwnManifest.objects.count() == versions  # nothing re-signed online
    served_view(root_fp).key_for(new.kid, "report", int(time.time()))
    # The replacement standby waits for the root; a second rotation must wait too.
    assert OwnKey.objects.get(use=KeyUse.REPORT, status=KeyStatus.PENDING)
    with pytest.raises(ValueError, match="ceremony"):
        keys.rotate(KeyUse.REPORT)
    run_ceremony()
    view = served_view(root_fp)
    assert old.kid in view.manifest.old_keys  # the next ceremony retires it in the manifest
    keys.rotate(KeyUse.REPORT)


def test_a_release_signed_as_the_rotation_commits_still_verifies(db: Any) -> None:
    """A publishing transaction that read the old report key just before a rotation committed
    signs in the rotation's second (or a little after); partners judge the signature by the
    manifest's `expired_at`, so the retired key must cover it (the fault suite lost such a
    report as `expired`)."""
    root_fp = session_root("us").public.fingerprint
    old = OwnKey.objects.get(use=KeyUse.REPORT, status=KeyStatus.CURRENT)
    rotated_at = int(time.time())
    keys.rotate(KeyUse.REPORT)
    run_ceremony()
    view = served_view(root_fp)
    assert old.kid in view.manifest.old_keys
    for issued_at in (rotated_at, rotated_at + 1, rotated_at + 60):
        assert view.key_for(old.kid, "report", issued_at).b64 == old.public_key
    old.refresh_from_db()
    assert old.expired_at is not None
    with pytest.raises(ProtocolError, match="expired"):
        view.key_for(old.kid, "report", old.expired_at)


def test_revocation_destroys_the_key_file_only_after_commit(db: Any) -> None:
    row = OwnKey.objects.get(use=KeyUse.REQUEST, status=KeyStatus.CURRENT)
    path = keystore.key_dir() / f"{row.kid.replace(':', '_')}.pem"
    assert path.exists()

    def revoke_then_fail() -> None:
        with transaction.atomic():
            keys.revoke(row.kid, "suspected copy")
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        revoke_then_fail()
    row.refresh_from_db()
    assert row.status == KeyStatus.CURRENT
    assert path.exists(), "a rolled-back revocation must leave the key the database names"


def test_emergency_revocation_then_ceremony_publishes_it(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    root_fp = session_root("us").public.fingerprint
    row = OwnKey.objects.get(use=KeyUse.REPORT, status=KeyStatus.CURRENT)
    path = keystore.key_dir() / f"{row.kid.replace(':', '_')}.pem"
    with django_capture_on_commit_callbacks(execute=True):
        keys.revoke(row.kid, "laptop lost")
    assert not path.exists()
    # The node switched to its standby at once and never signs with the revoked key again.
    assert keys.current_key(KeyUse.REPORT).kid != row.kid
    before = served_view(root_fp)
    assert row.kid not in before.manifest.revoked  # partners learn it from the ceremony
    run_ceremony()
    after = served_view(root_fp)
    assert after.manifest.version > before.manifest.version
    assert after.manifest.revoked[row.kid].reason == "laptop lost"
    # A partner that saw the new series refuses the old one (superseded, lower version).
    with pytest.raises(ProtocolError) as refused:
        verify_manifest(dict(before.manifest.body), {root_fp}, after.manifest, int(time.time()))
    assert refused.value.code == "rollback"


def test_a_series_by_another_root_or_below_the_signed_versions_is_refused(db: Any) -> None:
    request = keys.ceremony_request()
    intruder = generate("us", "root")
    forged = ceremony.sign_series(request, intruder, start=int(time.time()) - 60, windows=1)
    with pytest.raises(ProtocolError) as refused:
        keys.import_series(ceremony.series_document(forged, intruder))
    assert refused.value.code == "unpinned_root"
    root = session_root("us")
    stale = {**request, "next_version": 1}
    replay = ceremony.sign_series(stale, root, start=int(time.time()) - 60, windows=1)
    with pytest.raises(ProtocolError) as refused:
        keys.import_series(ceremony.series_document(replay, root))
    assert refused.value.code == "rollback"


def test_the_ceremony_command_offline_round_trip(db: Any, tmp_path: Path) -> None:
    """request on the node, sign offline (no Django), import on the node."""
    root_file, secret = tmp_path / "us-root.pem", tmp_path / "passphrase"
    secret.write_bytes(PASSPHRASE)
    OwnKey.objects.filter(use=KeyUse.ROOT).delete()  # a fresh node meeting its first root
    OwnManifest.objects.all().delete()
    call_command(
        "key_ceremony", "new-root", "--root-key", str(root_file), "--passphrase-file", str(secret)
    )
    call_command("key_ceremony", "request", "--out", str(tmp_path / "req.json"))
    assert b"PRIVATE" not in (tmp_path / "req.json").read_bytes()
    offline = [
        "sign",
        *("--request", str(tmp_path / "req.json"), "--out", str(tmp_path / "series.json")),
        *("--root-key", str(root_file), "--passphrase-file", str(secret), "--windows", "3"),
    ]
    assert ceremony.main(offline) == 0
    out = StringIO()
    call_command("key_ceremony", "import", "--series", str(tmp_path / "series.json"), stdout=out)
    pinned = ceremony.load_root_key(root_file, PASSPHRASE, "us").public.fingerprint
    assert out.getvalue().strip().splitlines()[-1] == pinned
    served_view(pinned)
    secret.write_bytes(b"not the passphrase at all")
    wrong = ["--root-key", str(root_file), "--passphrase-file", str(secret)]
    with pytest.raises(CommandError, match="passphrase"):
        call_command("key_ceremony", "run", *wrong)
