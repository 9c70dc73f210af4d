"""This node's keys: online keys, the manifests the offline root signed for them, rotation
and revocation.

The root key is never here. The node holds its online (report, request) private keys and the
manifest series a key ceremony signed ahead of time (`federation.protocol.ceremony`); the
manifest served is the highest version whose window has opened. Each use has a current key
and, once a ceremony has vouched for it, a standby key: rotating promotes the standby at once
(partners already trust it); revoking stops the node using a key at once, and the next ceremony
publishes the revocation. Runbook: infra/KEYS.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from core.selectors import this_node
from federation import keystore
from federation.models import KeyStatus, KeyUse, OwnKey, OwnManifest
from federation.protocol.ceremony import REQUEST_TYP
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import ALG, NodeKey, generate
from federation.protocol.manifest import Manifest, verify_manifest

from .manifest_push import queue_manifest_pushes

log = logging.getLogger(__name__)

ONLINE_USES = (KeyUse.REPORT, KeyUse.REQUEST)
# Retired keys keep verifying what they signed for this long (a report signed at iat is judged
# by the key valid at iat; the window only bounds how long the old key stays listed).
RETIRED_KEY_GRACE_S = 365 * 24 * 3600
# A rotation does not stop what is already signing: a release whose transaction read the old
# key just before the rotation committed carries an issue time in the rotation's second or
# after. Without this overlap partners refused it as `expired`, a final answer (the fault
# suite lost a report that way). Retirement is routine, not compromise (that is revocation,
# which stays immediate), so signatures up to 5 minutes after it still verify.
ROTATION_OVERLAP_S = 300
RENEW_WARNING_S = 7 * 24 * 3600


class KeyNotAuthorised(RuntimeError):
    """No key of this use is vouched for by the root yet: run the key ceremony."""


def _add_key(use: str, now: int, status: str = KeyStatus.PENDING) -> OwnKey:
    key = generate(this_node().code, str(use))
    row = OwnKey.objects.create(
        kid=key.kid,
        use=use,
        public_key=key.public.b64,
        fingerprint=key.public.fingerprint,
        not_before=now,
        status=status,
    )
    keystore.store(key)
    return row


@transaction.atomic
def ensure_keys() -> bool:
    """Make online keys (pending until a ceremony vouches for them) where a use has no current,
    standby or pending key. True if any was made. Never makes a root key."""
    now = int(time.time())
    created = False
    for use in ONLINE_USES:
        live = (KeyStatus.CURRENT, KeyStatus.STANDBY, KeyStatus.PENDING)
        if not OwnKey.objects.filter(use=use, status__in=live).exists():
            _add_key(use, now)
            created = True
    return created


def current_key(use: str) -> NodeKey:
    """The key to sign with now: the current key the root vouched for."""
    row = OwnKey.objects.filter(use=use, status=KeyStatus.CURRENT).order_by("-not_before").first()
    if row is None:
        raise KeyNotAuthorised(
            f"no {use} key is vouched for by the root: run the key ceremony (infra/KEYS.md)"
        )
    return keystore.load(row.kid, this_node().code, str(use))


def root_fingerprint() -> str:
    row = OwnKey.objects.filter(use=KeyUse.ROOT, status=KeyStatus.CURRENT).first()
    if row is None:
        raise KeyNotAuthorised("no root key on record: run the key ceremony (infra/KEYS.md)")
    return row.fingerprint


def latest_manifest(now: int | None = None) -> OwnManifest | None:
    """The manifest to serve: the highest version whose window has opened."""
    at = int(time.time()) if now is None else now
    return (
        OwnManifest.objects.filter(issued_at__lte=at, valid_until__gt=at)
        .order_by("-version")
        .first()
    )


def series_end() -> int | None:
    """When the last pre-signed manifest expires (None: nothing signed)."""
    last = OwnManifest.objects.order_by("-valid_until").first()
    return last.valid_until if last else None


def check_series() -> int:
    """Beat: the served version; warns loudly when the pre-signed series is about to run out."""
    served = latest_manifest()
    end = series_end()
    now = int(time.time())
    if served is None or end is None:
        log.error("no valid key manifest to serve: run the key ceremony (infra/KEYS.md)")
        return 0
    if end - now < RENEW_WARNING_S:
        log.error("the signed manifest series ends in %.1f days: renew it", (end - now) / 86400)
    return served.version


# --------------------------------------------------------------------------------------------
# The ceremony, node side: export a request, import the signed series
# --------------------------------------------------------------------------------------------


def _entry(row: OwnKey, **extra: int) -> dict[str, Any]:
    return {"alg": ALG, "key": row.public_key, "use": row.use, **extra}


@transaction.atomic
def ceremony_request() -> dict[str, Any]:
    """What the root is asked to vouch for (public data only). Makes a pending standby key
    for each use that has none, so the next rotation needs no ceremony."""
    ensure_keys()
    now = int(time.time())
    for use in ONLINE_USES:
        live = (KeyStatus.CURRENT, KeyStatus.STANDBY, KeyStatus.PENDING)
        if OwnKey.objects.filter(use=use, status__in=live).count() < 2:
            _add_key(use, now)
    keys: dict[str, Any] = {}
    old: dict[str, Any] = {}
    revoked: dict[str, Any] = {}
    for row in OwnKey.objects.exclude(use=KeyUse.ROOT):
        if row.status == KeyStatus.REVOKED:
            revoked[row.kid] = {"revoked_at": row.revoked_at or now, "reason": row.revoked_reason}
        elif row.status == KeyStatus.RETIRED:
            expired = row.expired_at or now
            if expired + RETIRED_KEY_GRACE_S > now:
                old[row.kid] = _entry(row, expired_at=expired)
        else:
            keys[row.kid] = _entry(row, not_before=row.not_before)
    highest = OwnManifest.objects.order_by("-version").values_list("version", flat=True).first()
    return {
        "typ": REQUEST_TYP,
        "v": 1,
        "node": this_node().code,
        "next_version": (highest or 0) + 1,
        "keys": keys,
        "old_keys": old,
        "revoked": revoked,
    }


def _verified_series(series: Sequence[Mapping[str, Any]], root_fp: str) -> list[Manifest]:
    verified = []
    for body in series:
        issued = body.get("issued_at")
        if type(issued) is not int:
            raise ProtocolError("bad_manifest", "a manifest without issued_at")
        verified.append(verify_manifest(dict(body), {root_fp}, None, issued))
    versions = [m.version for m in verified]
    if versions != sorted(set(versions)):
        raise ProtocolError("bad_manifest", "a series has increasing versions")
    return verified


def _adopt_root(document: Mapping[str, Any], first: Manifest) -> None:
    root = first.keys[first.signed_by].public
    known = OwnKey.objects.filter(use=KeyUse.ROOT, status=KeyStatus.CURRENT).first()
    if known is not None and known.kid != root.kid:
        raise ProtocolError("unpinned_root", "signed by another root than this node's")
    if known is None:
        OwnKey.objects.create(
            kid=root.kid,
            use=KeyUse.ROOT,
            public_key=root.b64,
            fingerprint=root.fingerprint,
            not_before=0,
            status=KeyStatus.CURRENT,
        )


@transaction.atomic
def import_series(document: Mapping[str, Any]) -> list[OwnManifest]:
    """Store a series the root signed; pending keys it vouches for become standby, and each
    use without a current key promotes its standby. Superseded future windows are dropped.
    The new manifest is owed to every active partner (`manifest_push`)."""
    series = document.get("manifests")
    root_fp = document.get("root_fingerprint")
    if not isinstance(series, list) or not series or not isinstance(root_fp, str):
        raise ProtocolError("bad_ceremony", "not a manifest series")
    verified = _verified_series(series, root_fp)
    first = verified[0]
    if first.node != this_node().code:
        raise ProtocolError("bad_ceremony", f"a series for {first.node}, not this node")
    highest = OwnManifest.objects.select_for_update().order_by("-version").first()
    if highest is not None and first.version <= highest.version:
        raise ProtocolError("rollback", "the series does not start above the signed versions")
    _adopt_root(document, first)
    rows = {row.kid: row for row in OwnKey.objects.select_for_update().exclude(use=KeyUse.ROOT)}
    for kid, key in first.keys.items():
        if key.public.use == "root":
            continue
        row = rows.get(kid)
        if row is None or row.public_key != key.public.b64:
            raise ProtocolError("bad_ceremony", f"the series vouches for {kid}, not held here")
        if row.status == KeyStatus.PENDING:
            row.status = KeyStatus.STANDBY
            row.save(update_fields=["status"])
    for use in ONLINE_USES:
        if not OwnKey.objects.filter(use=use, status=KeyStatus.CURRENT).exists():
            _promote_standby(use, int(time.time()))
    now = int(time.time())
    OwnManifest.objects.filter(issued_at__gt=now).delete()
    stored = [
        OwnManifest.objects.create(
            version=m.version, body=dict(m.body), issued_at=m.issued_at, valid_until=m.valid_until
        )
        for m in verified
    ]
    # Revocations take effect at partners now, not at their hourly refresh: owed in this
    # transaction, retried until each partner acknowledges.
    queue_manifest_pushes(stored[0].version)
    return stored


# --------------------------------------------------------------------------------------------
# Rotation and revocation (online: no root needed)
# --------------------------------------------------------------------------------------------


def _promote_standby(use: str, now: int) -> OwnKey | None:
    standby = OwnKey.objects.filter(use=use, status=KeyStatus.STANDBY).order_by("created_at")
    row = standby.first()
    if row is None:
        return None
    row.status = KeyStatus.CURRENT
    row.not_before = min(row.not_before, now)
    row.save(update_fields=["status", "not_before"])
    return row


@transaction.atomic
def rotate(use: str) -> OwnKey:
    """The standby key (already in the signed manifests) becomes current; the old one is
    retired and still verifies what it signed. A pending key takes the standby's place and
    needs the next ceremony. Root rotation is a ceremony of its own (infra/KEYS.md)."""
    if use not in ONLINE_USES:
        raise ValueError("only report and request keys rotate online; roots need a ceremony")
    now = int(time.time())
    if not OwnKey.objects.filter(use=use, status=KeyStatus.STANDBY).exists():
        raise ValueError(f"no standby {use} key is vouched for yet: run the key ceremony first")
    OwnKey.objects.filter(use=use, status=KeyStatus.CURRENT).update(
        status=KeyStatus.RETIRED, expired_at=now + ROTATION_OVERLAP_S
    )
    new = _promote_standby(use, now)
    assert new is not None
    _add_key(use, now)
    return new


@transaction.atomic
def revoke(kid: str, reason: str) -> OwnKey:
    """Revoke at once: the node stops signing with the key (a standby takes over if one is
    vouched for), the private key file is destroyed after commit, and the next ceremony lists
    the key as revoked in manifests pushed to every partner (infra/KEYS.md, emergency)."""
    if not reason.strip():
        raise ValueError("say why the key is revoked")
    row = OwnKey.objects.select_for_update().get(kid=kid)
    if row.use == KeyUse.ROOT:
        raise ValueError("a root key cannot be revoked online; recover out of band")
    if row.status == KeyStatus.REVOKED:
        return row
    was_current = row.status == KeyStatus.CURRENT
    now = int(time.time())
    row.status = KeyStatus.REVOKED
    row.revoked_at = now
    row.revoked_reason = reason.strip()[:300]
    row.save()
    if was_current and _promote_standby(row.use, now) is None:
        _add_key(row.use, now)
    # Files only after commit: a rollback must leave the key the database still names.
    transaction.on_commit(lambda: keystore.destroy(kid))
    return row
