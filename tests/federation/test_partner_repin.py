"""Re-pinning a partner's root (a new key ceremony) starts its manifest history afresh."""

from __future__ import annotations

import pytest

from federation.models import PartnerManifest
from federation.protocol.errors import ProtocolError
from federation.services.partners import introduce_partner, store_manifest
from tests.federation.partners import new_partner, register_partner

pytestmark = pytest.mark.django_db


def test_a_new_pinned_root_replaces_the_old_manifest_history() -> None:
    old = register_partner("uk")
    assert PartnerManifest.objects.get(partner__code="uk").version == 1
    ceremony = new_partner("uk")
    with pytest.raises(ProtocolError) as caught:
        store_manifest(old.partner, ceremony.manifest())
    assert caught.value.code == "unpinned_root"
    introduce_partner(
        code="uk",
        base_url="http://partner.invalid",
        root_fingerprint=ceremony.root.public.fingerprint,
        fetch=False,
    )
    assert not PartnerManifest.objects.filter(partner__code="uk").exists()
    ceremony.row = old.partner
    ceremony.publish()
    stored = PartnerManifest.objects.get(partner__code="uk")
    assert stored.body["signatures"]["uk"].keys() == {ceremony.root.kid}
