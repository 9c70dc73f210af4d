"""This node's keys: create, rotate, revoke, and publish the signed key manifest."""

from __future__ import annotations

import time

from django.db import transaction

from core.selectors import this_node
from federation import keystore
from federation.models import KeyStatus, KeyUse, OwnKey, OwnManifest
from federation.protocol.keys import NodeKey, PublicKey, generate
from federation.protocol.manifest import (
    CurrentKey,
    OldKey,
    Revocation,
    build_manifest,
    sign_manifest,
)

MANIFEST_VALIDITY_S = 7 * 24 * 3600
# Retired keys keep verifying what they signed for this long (a report signed at iat is judged
# by the key valid at iat; the window only bounds how long the old key stays listed).
RETIRED_KEY_GRACE_S = 365 * 24 * 3600


def _add_key(use: str, now: int) -> OwnKey:
    key = generate(this_node().code, str(use))
    keystore.store(key)
    return OwnKey.objects.create(
        kid=key.kid,
        use=use,
        public_key=key.public.b64,
        fingerprint=key.public.fingerprint,
        not_before=now,
    )


@transaction.atomic
def ensure_keys() -> bool:
    """Create the root, report and request keys if this node has none yet. True if created."""
    now = int(time.time())
    created = False
    for use in (KeyUse.ROOT, KeyUse.REPORT, KeyUse.REQUEST):
        if not OwnKey.objects.filter(use=use, status=KeyStatus.CURRENT).exists():
            _add_key(use, now)
            created = True
    if created or not OwnManifest.objects.exists():
        publish_manifest()
    return created


def current_key(use: str) -> NodeKey:
    """The key to sign with now; a node makes its first keys the first time it needs them."""
    row = OwnKey.objects.filter(use=use, status=KeyStatus.CURRENT).order_by("-not_before").first()
    if row is None:
        ensure_keys()
        row = OwnKey.objects.get(use=use, status=KeyStatus.CURRENT)
    return keystore.load(row.kid, this_node().code, str(use))


def root_fingerprint() -> str:
    row = OwnKey.objects.get(use=KeyUse.ROOT, status=KeyStatus.CURRENT)
    return row.fingerprint


@transaction.atomic
def publish_manifest() -> OwnManifest:
    """Sign a new manifest (version + 1) listing current, retired and revoked keys."""
    now = int(time.time())
    latest = OwnManifest.objects.select_for_update().order_by("-version").first()
    version = (latest.version + 1) if latest else 1
    keys, old, revoked = [], [], []
    for row in OwnKey.objects.all():
        public = PublicKey.from_b64(row.kid, row.use, row.public_key)
        if row.status == KeyStatus.CURRENT:
            keys.append(CurrentKey(public, row.not_before))
        elif row.status == KeyStatus.RETIRED and row.expired_at is not None:
            if row.expired_at + RETIRED_KEY_GRACE_S > now:
                old.append(OldKey(public, row.expired_at))
        elif row.status == KeyStatus.REVOKED:
            revoked.append(Revocation(row.kid, row.revoked_at or now, row.revoked_reason))
    body = build_manifest(
        node=this_node().code,
        version=version,
        issued_at=now,
        valid_until=now + MANIFEST_VALIDITY_S,
        keys=keys,
        old_keys=old,
        revoked=revoked,
    )
    root = current_key(KeyUse.ROOT)
    signed = sign_manifest(body, root)
    return OwnManifest.objects.create(
        version=version, body=signed, valid_until=now + MANIFEST_VALIDITY_S
    )


def latest_manifest() -> OwnManifest | None:
    return OwnManifest.objects.order_by("-version").first()


@transaction.atomic
def rotate(use: str) -> OwnKey:
    """New current key for `use`; the old one is retired and still verifies what it signed.

    Root rotation is not done here: a new root must be pinned by every partner out of band.
    """
    if use not in (KeyUse.REPORT, KeyUse.REQUEST):
        raise ValueError("only report and request keys rotate online; roots need a ceremony")
    now = int(time.time())
    OwnKey.objects.filter(use=use, status=KeyStatus.CURRENT).update(
        status=KeyStatus.RETIRED, expired_at=now
    )
    new = _add_key(use, now)
    publish_manifest()
    from federation.tasks import push_manifest

    # Partners learn the new key before anything signed with it reaches them.
    transaction.on_commit(push_manifest.delay)
    return new


@transaction.atomic
def revoke(kid: str, reason: str) -> OwnKey:
    """Revoke at once: a fresh key replaces it, the manifest lists it as revoked, partners are
    told immediately (after commit), and the private key is destroyed."""
    if not reason.strip():
        raise ValueError("say why the key is revoked")
    row = OwnKey.objects.select_for_update().get(kid=kid)
    if row.use == KeyUse.ROOT:
        raise ValueError("a root key cannot be revoked online; recover out of band")
    if row.status == KeyStatus.REVOKED:
        return row
    was_current = row.status == KeyStatus.CURRENT
    row.status = KeyStatus.REVOKED
    row.revoked_at = int(time.time())
    row.revoked_reason = reason.strip()[:300]
    row.save()
    if was_current:
        _add_key(row.use, int(time.time()))
    keystore.destroy(kid)
    publish_manifest()
    from federation.tasks import push_manifest

    transaction.on_commit(push_manifest.delay)
    return row
