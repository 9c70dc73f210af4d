"""Partners: introduce them (pinned root fingerprint), set their policy, keep their manifests."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from core.markings import Classification
from core.nodes import NODE_DIRECTORY, validate_node_code
from federation.models import Partner, PartnerManifest, PartnerPolicy, PartnerStatus
from federation.noncestore import first_in_window
from federation.protocol.errors import ProtocolError
from federation.protocol.keys import normalize_fingerprint
from federation.protocol.manifest import Manifest, verify_manifest
from federation.selectors import forget_cached_manifests
from reports.models import Category

log = logging.getLogger(__name__)

TLP_COLOURS = ("clear", "green", "amber", "amber+strict", "red")


class UnsafePartnerURL(ValueError):
    """A partner URL this node will not call (scheme, or an address it must not reach)."""


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified or address.is_multicast:
        return False
    for network in settings.FEDERATION_ALLOWED_NETWORKS:
        if address in ipaddress.ip_network(network, strict=False):
            return True
    return address.is_global


def check_partner_url(base_url: str, *, resolve: bool = True) -> str:
    """The URL, if this node may call it: https (http only outside production), no user
    info, query or fragment, and every address the host resolves to public or in
    FEDERATION_ALLOWED_NETWORKS (no loopback, private, link-local or metadata address). The
    reason never says what, if anything, answered there."""
    parts = urlsplit(base_url)
    schemes = ("https",) if settings.FEDERATION_REQUIRE_HTTPS else ("http", "https")
    if parts.scheme not in schemes:
        raise UnsafePartnerURL(f"the partner URL must start with {' or '.join(schemes)}://")
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafePartnerURL("the partner URL is scheme://host[:port][/path], nothing more")
    if not resolve:
        return base_url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError):
        raise UnsafePartnerURL("the partner's host name does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not _allowed(address):
            raise UnsafePartnerURL(
                "the partner URL points at a loopback, private or link-local address that "
                "is not in FEDERATION_ALLOWED_NETWORKS"
            )
    return base_url


def _previous(partner: Partner) -> Manifest | None:
    row = PartnerManifest.objects.filter(partner=partner).first()
    if row is None:
        return None
    now = min(int(time.time()), row.valid_until - 1)
    return verify_manifest(dict(row.body), set(partner.root_fingerprints), None, now)


@transaction.atomic
def store_manifest(partner: Partner, raw: bytes | dict[str, Any]) -> Manifest:
    """Verify a partner's manifest against its pinned roots and our cached copy (no rollback)."""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    manifest = verify_manifest(
        raw, set(partner.root_fingerprints), _previous(partner), int(time.time())
    )
    if manifest.node != partner.code:
        raise ProtocolError("bad_manifest", f"manifest is for {manifest.node}, not {partner.code}")
    PartnerManifest.objects.update_or_create(
        partner=partner,
        defaults={
            "version": manifest.version,
            "body": dict(manifest.body),
            "valid_until": manifest.valid_until,
        },
    )
    forget_cached_manifests()
    return manifest


def refresh_manifest(partner: Partner, timeout: tuple[float, float] = (3, 10)) -> Manifest:
    from federation.client import fetch_manifest

    check_partner_url(partner.base_url)  # at each fetch: a name may resolve elsewhere later
    return store_manifest(partner, fetch_manifest(partner.base_url, timeout))


def refresh_for_unknown_key(partner: Partner) -> bool:
    """A request is signed with a key we do not know: the partner may have rotated or revoked
    and its push not reached us yet. Fetch its manifest now, while the request waits (at most
    once a minute per partner, shared with the inbox's look-up, and with short timeouts: the
    caller is a partner's request). True if a manifest was stored."""
    from federation.client import PartnerUnreachable

    from .inbox import KEY_LOOKUP_S

    if not first_in_window(f"refresh:{partner.code}", KEY_LOOKUP_S):
        return False
    try:
        refresh_manifest(partner, timeout=(2, 5))
    except (PartnerUnreachable, ProtocolError, UnsafePartnerURL) as exc:
        log.warning(
            "manifest of %s not refreshed for an unknown request key: %s", partner.code, exc
        )
        return False
    return True


def forget_old_root(partner: Partner, pin: str) -> bool:
    """Before pinning `pin` for a partner: if it is a new root, the manifests cached under the
    old pin prove nothing any more and are dropped. True when the root changes."""
    if partner.root_fingerprints == [pin]:
        return False
    PartnerManifest.objects.filter(partner=partner).delete()
    forget_cached_manifests()
    return True


@transaction.atomic
def repin_root(partner: Partner, fingerprint: str) -> bool:
    """Pin a partner's new root key (exchanged out of band at a root rotation), keeping its
    policy and status. True when the root changed."""
    pin = normalize_fingerprint(fingerprint)
    if not forget_old_root(partner, pin):
        return False
    Partner.objects.filter(pk=partner.pk).update(root_fingerprints=[pin])
    partner.root_fingerprints = [pin]
    return True


@transaction.atomic
def introduce_partner(
    *,
    code: str,
    base_url: str,
    root_fingerprint: str,
    name: str | None = None,
    groups: Iterable[str] | None = None,
    ceiling: Classification = Classification.CONFIDENTIAL,
    categories: Iterable[str] = (),
    tlp_allowed: Iterable[str] = (),
    relay_origins: Iterable[str] = (),
    fetch: bool = True,
) -> Partner:
    """Register a partner by its URL and the root-key fingerprint exchanged out of band."""
    validate_node_code(code)
    check_partner_url(base_url, resolve=False)  # addresses are checked at every fetch
    known = NODE_DIRECTORY.get(code)
    pin = normalize_fingerprint(root_fingerprint)
    existing = Partner.objects.filter(code=code).first()
    if existing is not None:
        forget_old_root(existing, pin)
    partner, _ = Partner.objects.update_or_create(
        code=code,
        defaults={
            "name": name or (known.name if known else code.upper()),
            "base_url": base_url.rstrip("/"),
            "root_fingerprints": [pin],
            "groups": sorted(groups)
            if groups is not None
            else (list(known.groups) if known else []),
            "status": PartnerStatus.ACTIVE,
        },
    )
    set_policy(
        partner,
        ceiling=ceiling,
        categories=categories,
        tlp_allowed=tlp_allowed,
        relay_origins=relay_origins,
        reconcile=False,
    )
    if fetch:
        refresh_manifest(partner)
    return partner


@transaction.atomic
def set_policy(
    partner: Partner,
    *,
    ceiling: Classification,
    categories: Iterable[str] = (),
    tlp_allowed: Iterable[str] = (),
    relay_origins: Iterable[str] = (),
    reconcile: bool = True,
) -> PartnerPolicy:
    """Change what flows to a partner. Reports it becomes entitled to are queued for it, and
    so are the copies its own policy refused until now; rows it is no longer entitled to are
    cancelled when the sender next looks at them."""
    if reconcile:
        from .outbox import hold_fan_outs

        hold_fan_outs()
    cats = sorted(set(categories))
    bad = [c for c in cats if c not in Category.values]
    if bad:
        raise ValueError(f"unknown categories: {', '.join(bad)}")
    colours = sorted(set(tlp_allowed))
    if any(c not in TLP_COLOURS for c in colours):
        raise ValueError(f"TLP colours are {', '.join(TLP_COLOURS)}")
    origins = sorted(set(relay_origins))
    for origin in origins:
        validate_node_code(origin)
    policy, created = PartnerPolicy.objects.select_for_update().get_or_create(
        partner=partner,
        defaults={
            "ceiling": int(ceiling),
            "categories": cats,
            "tlp_allowed": colours,
            "relay_origins": origins,
        },
    )
    if not created:
        policy.ceiling, policy.categories = int(ceiling), cats
        policy.tlp_allowed, policy.relay_origins = colours, origins
        policy.version += 1
        policy.save()
    partner.policy = policy
    if reconcile:
        from .outbox import reconcile_partner, resend_held_copies

        reconcile_partner(partner)
        # Copies the partner's own policy refused go again now: this change may be the two
        # ends' administrators agreeing (the policy is checked again on send).
        resend_held_copies(partner.code, due_only=False)
    return policy


def set_status(partner: Partner, status: str) -> None:
    if status not in PartnerStatus.values:
        raise ValueError(f"status is one of {', '.join(PartnerStatus.values)}")
    from .outbox import hold_fan_outs, reconcile_partner

    hold_fan_outs()
    was = Partner.objects.filter(pk=partner.pk).values_list("status", flat=True).first()
    Partner.objects.filter(pk=partner.pk).update(status=status)
    partner.status = status
    if status == PartnerStatus.ACTIVE and was != PartnerStatus.ACTIVE:
        # Releases published while the partner was suspended got no delivery row (fan-out
        # skips suspended partners): owe them now, or a resume loses them for good (the
        # fault suite's soak lost five that way).
        reconcile_partner(partner)
