"""A fake partner node, built inside a test, that talks to the node under test (`us`).

It holds real Ed25519 keys (root, report, request), publishes a real signed key manifest, is
registered on the node under test through the real services (pinned root fingerprint, policy,
stored manifest), and signs report envelopes and RFC 9421 requests exactly as a partner does.
Requests are posted through Django's test `Client` as raw bytes, so what the view receives is
byte for byte what was signed.

Nothing here mocks the database or Redis: use it from tests that have the `db` (or
`transactional_db`) fixture.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.test import Client

from core.markings import Classification
from federation.models import Partner
from federation.protocol.canonical import canonical_bytes
from federation.protocol.envelope import (
    add_hop,
    build_report_envelope,
    build_tombstone,
    countersign,
    sign_origin,
    signed_digest,
)
from federation.protocol.httpsig import sign_request
from federation.protocol.keys import NodeKey, generate
from federation.protocol.manifest import (
    CurrentKey,
    OldKey,
    Revocation,
    build_manifest,
    sign_manifest,
)
from federation.services.partners import introduce_partner, store_manifest

INBOX_PATH = "/fed/v1/inbox"
JSON = "application/json"
PARTNER_BASE_URL = "http://partner.invalid"
KEYS_VALID_SINCE_S = 3600
"""Keys of a fresh fake partner are valid from this long ago (reports may carry older iats)."""


def inbox_url() -> str:
    """The URL the node under test rebuilds for its inbox (its public origin + path)."""
    return f"{settings.NODE_PUBLIC_URL}{INBOX_PATH}"


# --------------------------------------------------------------------------------------------
# The fake partner and its keys
# --------------------------------------------------------------------------------------------


@dataclass
class FakePartner:
    """One allied node's keys and manifest history, as that node itself would hold them."""

    code: str
    root: NodeKey
    report: NodeKey
    request: NodeKey
    keys_since: int
    manifest_version: int = 0
    old_keys: dict[str, OldKey] = field(default_factory=dict)
    revoked: dict[str, Revocation] = field(default_factory=dict)
    standby: list[NodeKey] = field(default_factory=list)
    """Keys the root vouches for ahead of use (listed as current), as a ceremony does."""
    row: Partner | None = None

    @property
    def partner(self) -> Partner:
        """The Partner row on the node under test (fresh from the database)."""
        assert self.row is not None, f"{self.code} is not registered on the node under test"
        self.row.refresh_from_db()
        return self.row

    # --- manifests ----------------------------------------------------------------------------

    def manifest(self, *, issued_at: int | None = None) -> dict[str, Any]:
        """Sign the next manifest version listing the current, old and revoked keys."""
        now = int(time.time()) if issued_at is None else issued_at
        self.manifest_version += 1
        body = build_manifest(
            node=self.code,
            version=self.manifest_version,
            issued_at=now,
            valid_until=now + 24 * 3600,
            keys=[
                CurrentKey(key.public, self.keys_since)
                for key in (self.root, self.report, self.request, *self.standby)
            ],
            old_keys=self.old_keys.values(),
            revoked=self.revoked.values(),
        )
        return sign_manifest(body, self.root)

    def publish(self) -> dict[str, Any]:
        """Sign the next manifest and store it on the node under test (as a refresh would)."""
        signed = self.manifest()
        store_manifest(self.partner, signed)
        return signed

    def rotate_report_key(self, *, expired_at: int) -> NodeKey:
        """A new current report key; the old one moves to old_keys, expiring at `expired_at`.
        Returns the old key (still able to sign, as a partner's leftover copy could)."""
        old = self.report
        self.old_keys[old.kid] = OldKey(old.public, expired_at)
        self.report = generate(self.code, "report")
        return old

    def revoke(self, key: NodeKey, *, reason: str = "compromised") -> NodeKey:
        """Revoke `key` (replacing it with a fresh one if it was current); returns the new key
        for that use (or the unchanged current key)."""
        now = int(time.time())
        self.old_keys.pop(key.kid, None)
        self.revoked[key.kid] = Revocation(key.kid, now, reason)
        if key.kid == self.report.kid:
            self.report = generate(self.code, "report")
        if key.kid == self.request.kid:
            self.request = generate(self.code, "request")
        return self.report if key.use == "report" else self.request

    # --- envelopes ----------------------------------------------------------------------------

    def sign(self, env: Mapping[str, Any], key: NodeKey | None = None) -> dict[str, Any]:
        """Sign `env` as its origin (with the current report key unless `key` is given)."""
        return sign_origin(env, key or self.report)

    def relay(self, env: Mapping[str, Any], *, to: str = "us") -> dict[str, Any]:
        """Forward `env` as a relay: countersign it and record the hop."""
        signed = countersign(env, self.code, self.report)
        return add_hop(signed, self.code, to, int(time.time()))

    def report_envelope(self, **kwargs: Any) -> dict[str, Any]:
        """A signed report from this partner; see `report_envelope` for the arguments."""
        key = kwargs.pop("key", None)
        return self.sign(report_envelope(iss=self.code, **kwargs), key)

    def tombstone(
        self, previous: Mapping[str, Any], *, reason: str = "source withdrawn"
    ) -> dict[str, Any]:
        """A signed tombstone withdrawing the report whose latest version is `previous`."""
        unsigned = build_tombstone(
            iss=self.code,
            report_id=previous["id"],
            ver=previous["ver"] + 1,
            prev=signed_digest(previous),
            iat=int(time.time()),
            markings=previous["markings"],
            reason=reason,
        )
        return self.sign(unsigned)

    # --- requests -----------------------------------------------------------------------------

    def sign_request(
        self,
        body: bytes,
        *,
        now: float | None = None,
        url: str | None = None,
        key: NodeKey | None = None,
        method: str = "POST",
    ) -> dict[str, str]:
        """RFC 9421 headers for `body` sent to the node under test's inbox (or `url`)."""
        return sign_request(
            method,
            url or inbox_url(),
            {"Content-Type": JSON},
            body,
            key or self.request,
            self.code,
            time.time() if now is None else now,
        )

    def post(
        self,
        client: Client,
        body: bytes | Mapping[str, Any],
        *,
        path: str = INBOX_PATH,
        **sign: Any,
    ) -> Any:
        """Sign and post `body` (a batch or raw bytes) to `path` (the inbox by default);
        `sign` goes to `sign_request` (now, url, key). Returns the response."""
        raw = body if isinstance(body, bytes) else canonical_bytes(body)
        sign.setdefault("url", f"{settings.NODE_PUBLIC_URL}{path}")
        return post_raw(client, raw, self.sign_request(raw, **sign), path=path)


def new_partner(code: str) -> FakePartner:
    """A fake partner with fresh keys, not yet known to the node under test."""
    return FakePartner(
        code=code,
        root=generate(code, "root"),
        report=generate(code, "report"),
        request=generate(code, "request"),
        keys_since=int(time.time()) - KEYS_VALID_SINCE_S,
    )


def register_partner(
    code: str,
    *,
    ceiling: Classification = Classification.SECRET,
    relay_origins: Iterable[str] = (),
    fake: FakePartner | None = None,
) -> FakePartner:
    """Create a fake partner (or take `fake`) and introduce it to the node under test: pinned
    root fingerprint, policy, then its signed manifest stored through the real service."""
    fake = fake or new_partner(code)
    fake.row = introduce_partner(
        code=code,
        base_url=PARTNER_BASE_URL,
        root_fingerprint=fake.root.public.fingerprint,
        ceiling=ceiling,
        relay_origins=relay_origins,
        fetch=False,
    )
    fake.publish()
    return fake


# --------------------------------------------------------------------------------------------
# Reports, batches and requests
# --------------------------------------------------------------------------------------------


def chip_payload(**overrides: Any) -> dict[str, Any]:
    """A payload matching the report schema (federation.payloads._Payload), chip_diversion."""
    payload: dict[str, Any] = {
        "title": "480 x H100 SXM via Singapore to a reseller",
        "summary": "Declared for a data centre in Singapore; onward movement suspected.",
        "category": "chip_diversion",
        "status": "published",
        "event_start": "2026-09-01",
        "event_end": None,
        "source_reliability": "B",
        "info_credibility": 2,
        "origin_version": 1,
        "details": {
            "items": [{"model": "H100 SXM", "quantity": 480, "serials": ["H1000001"]}],
            "consignee": {
                "name": "Lumen Harbor Trading Pte Ltd",
                "address": "12 Changi South Lane",
                "country": "SG",
            },
            "intermediaries": [
                {"name": "Jade Gate Logistics", "country": "HK", "role": "freight_forwarder"}
            ],
            "route": ["US", "SG", "MY", "CN"],
            "value_usd": 12_000_000,
            "eccn": "3A090.a",
            "shipment_ref": "AWB-123456",
            "red_flags": ["freight_forwarder_consignee"],
        },
        "entities": [
            {"kind": "person", "name": "Invented Officer One", "country": "SG", "role": "officer"}
        ],
        "change_note": "",
    }
    payload.update(overrides)
    return payload


def markings(
    rel_to: Iterable[str] = ("fvey",),
    *,
    classification: str = "CONFIDENTIAL",
    orcon: bool = False,
    tlp: str = "amber",
) -> dict[str, Any]:
    return {
        "classification": classification,
        "rel_to": sorted(set(rel_to)),
        "orcon": orcon,
        "tlp": tlp,
    }


def report_envelope(
    *,
    iss: str,
    rel_to: Iterable[str] = ("fvey",),
    classification: str = "CONFIDENTIAL",
    orcon: bool = False,
    tlp: str = "amber",
    payload: Mapping[str, Any] | None = None,
    report_id: str | None = None,
    ver: int = 1,
    prev: str | None = None,
    iat: int | None = None,
) -> dict[str, Any]:
    """An unsigned fed.report envelope with a valid chip_diversion payload by default."""
    return build_report_envelope(
        iss=iss,
        iat=int(time.time()) - 5 if iat is None else iat,
        markings=markings(rel_to, classification=classification, orcon=orcon, tlp=tlp),
        payload=chip_payload(origin_version=ver) if payload is None else dict(payload),
        report_id=report_id or str(uuid.uuid4()),
        ver=ver,
        prev=prev,
    )


def next_version(
    previous: Mapping[str, Any], *, prev: str | None = None, **payload: Any
) -> dict[str, Any]:
    """The unsigned next version of a report (chained to `previous` unless `prev` is given)."""
    ver = previous["ver"] + 1
    return build_report_envelope(
        iss=previous["iss"],
        iat=int(time.time()) - 5,
        markings=previous["markings"],
        payload={**previous["payload"], "origin_version": ver, **payload},
        report_id=previous["id"],
        ver=ver,
        prev=signed_digest(previous) if prev is None else prev,
    )


def tampered(env: Mapping[str, Any], **payload: Any) -> dict[str, Any]:
    """A deep copy of a signed envelope whose payload was changed after signing."""
    out = copy.deepcopy(dict(env))
    out["payload"].update(payload)
    return out


def batch(
    *envelopes: Mapping[str, Any], first_seq: int = 1, txn: str | None = None
) -> dict[str, Any]:
    """A delivery batch: {"txn": ..., "items": [{"seq": n, "envelope": env}, ...]}."""
    return {
        "txn": txn or uuid.uuid4().hex,
        "items": [{"seq": first_seq + n, "envelope": dict(env)} for n, env in enumerate(envelopes)],
    }


def post_raw(
    client: Client,
    body: bytes,
    headers: Mapping[str, str],
    *,
    path: str = INBOX_PATH,
    content_type: str = JSON,
) -> Any:
    """Post exactly `body` with `headers` (no re-encoding by the test client)."""
    return client.generic("POST", path, body, content_type=content_type, headers=dict(headers))


def forget_anonymous_allowance() -> None:
    """Every test client calls from 127.0.0.1: drop what earlier tests' refused anonymous
    requests used of that address's allowance (`federation.services.anonymous`)."""
    from federation.noncestore import _redis

    client = _redis()
    prefix = f"node-{settings.NODE_CODE}:fed:"
    keys = [*client.scan_iter(f"{prefix}anon:*"), *client.scan_iter(f"{prefix}once:anon-*")]
    if keys:
        client.delete(*keys)


def results_of(response: Any) -> list[dict[str, Any]]:
    """Per-item results of a 200 inbox answer, in seq order."""
    assert response.status_code == 200, response.content
    answer = response.json()
    return sorted(answer["results"], key=lambda result: result["seq"])
