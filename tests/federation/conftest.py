"""Fixtures for the partner-facing API tests: fake partners registered on the node under test.

Only the allowance reset is autouse, and only for database tests, so the plain-Python protocol
tests below this folder are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from federation.selectors import forget_cached_manifests

from .http_partner import Answer, PartnerServer, partner_servers
from .partners import FakePartner, forget_anonymous_allowance, register_partner


@pytest.fixture
def fresh_manifest_cache(db: Any) -> Any:
    """Each test registers partners with the same codes (and manifest versions) but new keys:
    never let a verified manifest cached by an earlier test answer for this one."""
    forget_cached_manifests()
    yield
    forget_cached_manifests()


@pytest.fixture(autouse=True)
def _fresh_anonymous_allowance(request: pytest.FixtureRequest) -> None:
    """Database tests post from one address; each starts with its whole allowance."""
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        forget_anonymous_allowance()


@pytest.fixture
def uk(fresh_manifest_cache: Any) -> FakePartner:
    """The sending partner: fvey member, its reports come straight from it."""
    return register_partner("uk")


@pytest.fixture
def onward(fresh_manifest_cache: Any) -> FakePartner:
    """nz, a partner our policy lets us relay uk, ca and jp reports to: anything the node under
    test accepts from them (REL TO fvey) is owed to nz, so "nothing queued" means something."""
    return register_partner("nz", relay_origins=["uk", "ca", "jp"])


@pytest.fixture
def partner_server() -> Iterator[Callable[[Answer], PartnerServer]]:
    """Start real HTTP servers answering as partners (see `http_partner`); all shut down after."""
    yield from partner_servers()
