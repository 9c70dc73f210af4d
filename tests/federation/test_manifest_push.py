"""Revocations reach partners (issue 11, D3).

Sender: a key ceremony's import owes the new manifest to every partner as a durable row; a
partner that is down when we revoke gets it within seconds of coming back (retried with capped
backoff, swept from the table as beat does), never only at its hourly refresh. The push runs on
its own queue, never behind the delivery backlog.

The partner on the far side is a real HTTP server in a thread that does what a partner's
`/fed/v1/keys/notify` does, with the protocol's own verification; database and Redis are real.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from pytest_django.fixtures import Settings

from core.enqueue import TaskSend
from federation.devnet import LocalFederation
from federation.models import (
    KeyStatus,
    KeyUse,
    ManifestPush,
    ManifestPushState,
    OwnKey,
    Partner,
)
from federation.protocol.canonical import canonical_bytes
from federation.protocol.errors import ProtocolError
from federation.protocol.httpsig import MemoryNonceStore, verify_request
from federation.protocol.keys import PublicKey
from federation.protocol.manifest import Manifest, ManifestView, verify_manifest
from federation.services import keys
from federation.services.manifest_push import (
    _backoff_seconds,
    _claim,
    _settle,
    partners_with_due_pushes,
    queue_manifest_pushes,
    send_manifest_push,
)
from federation.tasks import sweep_manifest_pushes
from tests.support.ceremony import run_ceremony

from .http_partner import PartnerServer, point_at
from .partners import FakePartner, register_partner

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------
# The partner's side of a push
# --------------------------------------------------------------------------------------------


@dataclass
class NotifiedPartner:
    """What a partner does with POST /fed/v1/keys/notify: store the pushed manifest if it
    verifies against the pinned root and is no rollback, then check the request's signature
    with the keys it lists. `up` False answers 503, as a partner that is down."""

    root_fingerprint: str
    held: Manifest
    server: PartnerServer | None = None
    up: bool = False
    signed_with: list[str] = field(default_factory=list)
    nonces: MemoryNonceStore = field(default_factory=MemoryNonceStore)

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        assert self.server is not None
        if not self.up:
            return 503, {"code": "down", "reason": "the partner is down"}
        assert (method, path) == ("POST", "/fed/v1/keys/notify")
        now = int(time.time())
        self.held = verify_manifest(body, {self.root_fingerprint}, self.held, now)
        verified = verify_request(
            method,
            f"{self.server.url}{path}",
            self.server.headers[-1],
            canonical_bytes(body),
            expected_authority=self.server.url.removeprefix("http://"),
            resolve_key=lambda node, kid: self.request_key(kid),
            nonce_store=self.nonces,
            now=time.time(),
        )
        self.signed_with.append(verified.kid)
        return 200, {"node": self.held.node, "version": self.held.version}

    def request_key(self, kid: str) -> PublicKey:
        """The key if this partner accepts requests signed with it now (else ProtocolError)."""
        return ManifestView(self.held).key_for(kid, "request", int(time.time()))

    def refuses(self, kid: str) -> str:
        try:
            self.request_key(kid)
        except ProtocolError as exc:
            return exc.code
        return ""


@pytest.fixture
def ca(fresh_manifest_cache: Any, partner_server: Any) -> NotifiedPartner:
    """Partner ca, holding the manifest we serve now (as after its last refresh)."""
    fake = register_partner("ca")
    root_fp = keys.root_fingerprint()
    served = keys.latest_manifest()
    assert served is not None
    held = verify_manifest(dict(served.body), {root_fp}, None, int(time.time()))
    partner = NotifiedPartner(root_fp, held)
    partner.server = partner_server(partner.answer)
    point_at(fake, partner.server.url)
    return partner


def current_request_kid() -> str:
    return OwnKey.objects.get(use=KeyUse.REQUEST, status=KeyStatus.CURRENT).kid


def revoke_and_run_ceremony(kid: str) -> None:
    """The runbook's emergency revocation: stop using the key, then the ceremony's import."""
    keys.revoke(kid, "compromised")
    run_ceremony()


def sweep_until(done: Any, timeout: float) -> float:
    """Do what beat and the manifests worker do (send every due push) until `done()`;
    returns the seconds it took."""
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < timeout, "the push did not get through in time"
        for code in partners_with_due_pushes():
            send_manifest_push(code)
        time.sleep(0.05)
    return time.monotonic() - started


# --------------------------------------------------------------------------------------------
# Sender
# --------------------------------------------------------------------------------------------


def test_a_partner_down_during_a_revocation_refuses_the_key_within_seconds_of_its_return(
    ca: NotifiedPartner, settings: Settings
) -> None:
    settings.FEDERATION_MANIFEST_PUSH_BACKOFF_CAP_S = 1
    revoked = current_request_kid()
    revoke_and_run_ceremony(revoked)
    push = ManifestPush.objects.get(partner__code="ca")
    assert push.state == ManifestPushState.PENDING

    for _ in range(3):  # ca is down: each attempt fails and is retried, never dropped
        ManifestPush.objects.filter(pk=push.pk).update(next_attempt_at=push.queued_at)
        assert send_manifest_push("ca") is False
    push.refresh_from_db()
    assert (push.state, push.attempts) == (ManifestPushState.PENDING, 3)
    assert push.last_error == "HTTP 503"
    assert push.next_attempt_at.timestamp() <= time.time() + 1  # capped backoff
    assert ca.refuses(revoked) == ""  # what D3 saw: the revoked key still accepted

    ca.up = True
    took = sweep_until(lambda: ca.refuses(revoked) == "revoked_key", timeout=10)

    assert took < 3, f"ca learnt of the revocation {took:.1f} s after it came back"
    push.refresh_from_db()
    assert push.state == ManifestPushState.ACKNOWLEDGED
    assert push.acknowledged_version == ca.held.version == push.version
    # Signed with the key that took over, which the pushed manifest itself vouches for.
    assert ca.signed_with == [current_request_kid()]
    assert revoked not in ca.signed_with
    assert partners_with_due_pushes() == []


def test_a_push_is_swept_from_its_row_when_the_message_is_lost(ca: NotifiedPartner) -> None:
    ca.up = True
    revoked = current_request_kid()
    revoke_and_run_ceremony(revoked)  # in a test transaction, the after-commit send never goes

    assert partners_with_due_pushes() == ["ca"]
    assert sweep_manifest_pushes() == 1  # beat: the row, not the lost message, is the truth
    assert send_manifest_push("ca") is True
    assert ca.refuses(revoked) == "revoked_key"
    assert partners_with_due_pushes() == []


def test_the_import_owes_the_manifest_to_each_active_partner_after_commit(
    ca: NotifiedPartner, uk: FakePartner, django_capture_on_commit_callbacks: Any
) -> None:
    from federation.services.partners import set_status

    set_status(uk.partner, "suspended")
    with django_capture_on_commit_callbacks() as callbacks:
        run_ceremony()
    assert list(ManifestPush.objects.values_list("partner__code", flat=True)) == ["ca"]
    sends = [c for c in callbacks if isinstance(c, TaskSend)]
    assert sends == [TaskSend("federation.tasks.push_manifest_to", ("ca",))]


def test_a_newer_manifest_supersedes_a_pending_push(
    ca: NotifiedPartner, settings: Settings
) -> None:
    revoke_and_run_ceremony(current_request_kid())
    assert send_manifest_push("ca") is False  # down
    first = ManifestPush.objects.get(partner__code="ca")

    second_kid = current_request_kid()
    revoke_and_run_ceremony(second_kid)
    newer = ManifestPush.objects.get(partner__code="ca")
    assert newer.version > first.version
    assert (newer.state, newer.attempts, newer.last_error) == (ManifestPushState.PENDING, 0, "")

    # A send of the older one still in flight when the newer one is queued settles nothing.
    claimed = _claim("ca", newer.next_attempt_at)
    assert claimed is not None
    queue_manifest_pushes(newer.version + 1)
    _settle(claimed, ManifestPushState.ACKNOWLEDGED, "", acknowledged=newer.version)
    after = ManifestPush.objects.get(partner__code="ca")
    assert (after.state, after.version) == (ManifestPushState.PENDING, newer.version + 1)

    ca.up = True
    assert send_manifest_push("ca") is True
    assert ca.refuses(second_kid) == "revoked_key"


def test_a_partner_refusing_the_manifest_is_not_retried_and_says_why(
    ca: NotifiedPartner, partner_server: Any
) -> None:
    refusal = {"code": "unpinned_root", "reason": "no"}
    server = partner_server(lambda method, path, body: (400, refusal))
    Partner.objects.filter(code="ca").update(base_url=server.url)
    run_ceremony()
    assert send_manifest_push("ca") is False
    push = ManifestPush.objects.get(partner__code="ca")
    assert push.state == ManifestPushState.REFUSED
    assert push.last_error == "HTTP 400 unpinned_root: no"
    assert partners_with_due_pushes() == []


def test_manifest_pushes_have_a_queue_of_their_own_that_every_worker_setup_consumes() -> None:
    router = current_app.amqp.router
    for task in ("federation.tasks.push_manifest_to", "federation.tasks.sweep_manifest_pushes"):
        assert router.route({}, task)["queue"].name == "manifests"
    assert router.route({}, "federation.tasks.deliver")["queue"].name == "federation"
    sweep = settings.CELERY_BEAT_SCHEDULE["federation-manifest-pushes"]
    assert sweep["task"] == "federation.tasks.sweep_manifest_pushes"
    assert float(str(sweep["schedule"])) <= 5
    procfile = (ROOT / "infra" / "Procfile").read_text()
    worker = next(line for line in procfile.splitlines() if line.startswith("worker:"))
    assert "manifests" in worker.split("--queues ")[1].split()[0].split(",")
    assert "manifests" in LocalFederation(["us"]).worker_queues.split(",")
    units = (ROOT / "infra" / "README.md").read_text()
    assert "`@manifests`" in units


def test_federation_status_lists_each_partner_s_manifest_push(ca: NotifiedPartner) -> None:
    run_ceremony()
    send_manifest_push("ca")  # down
    out = StringIO()
    call_command("federation_status", stdout=out)
    push = json.loads(out.getvalue())["manifest_pushes"]["ca"]
    assert push["state"] == "pending"
    assert (push["attempts"], push["last_error"]) == (1, "HTTP 503")


def test_the_push_backoff_doubles_from_a_second_up_to_the_cap(settings: Settings) -> None:
    settings.FEDERATION_MANIFEST_PUSH_BACKOFF_CAP_S = 30
    for attempts, ceiling in ((1, 1), (2, 2), (3, 4), (5, 16), (6, 30), (40, 30)):
        waits = [_backoff_seconds(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), (attempts, waits)
