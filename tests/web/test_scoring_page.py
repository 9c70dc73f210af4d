"""The trust console's risk-score page: propose a refit learned from dispositions, see it
compared with the active configuration on held-back cases, and have a second administrator
activate or reject it; refusals and too few dispositions are messages, never errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Role
from audit.models import AuditEntry
from cases.models import ConfigState, ScoringConfigVersion
from cases.services import active_config
from core.markings import Classification
from riskscore.features import DEFAULT_CONFIG
from tests.cases.refit_data import SIGNAL, disposed_cases

from .conftest import html, signed_in


@pytest.fixture
def admins(make_web_user: Any) -> tuple[Any, Any]:
    return make_web_user(Role.TRUST_ADMIN, "SECRET"), make_web_user(Role.TRUST_ADMIN, "SECRET")


@pytest.mark.parametrize("role", [Role.ANALYST, Role.RELEASER, Role.AUDITOR])
def test_only_trust_admins_open_the_scoring_page(client_as: Any, role: str) -> None:
    client = client_as(role)
    assert client.get("/trust/scoring/").status_code == 403
    assert client.post("/trust/scoring/propose/").status_code == 403
    assert not ScoringConfigVersion.objects.exists()


def test_the_page_is_in_the_trust_navigation(admins: tuple[Any, Any]) -> None:
    page = html(signed_in(admins[0]).get("/trust/keys/"))
    assert 'href="/trust/scoring/"' in page
    scoring = html(signed_in(admins[0]).get("/trust/scoring/"))
    assert DEFAULT_CONFIG.version in scoring
    assert "No refit is waiting." in scoring


def test_too_few_dispositions_is_a_message_on_the_page(admins: tuple[Any, Any]) -> None:
    disposed_cases(confirmed=3, dismissed=2)
    client = signed_in(admins[0])
    response = client.post("/trust/scoring/propose/", follow=True)
    assert response.status_code == 200
    page = html(response)
    assert "Too few dispositions to refit: 5 closed cases (3 confirmed, 2 dismissed)" in page
    assert "message-error" in page
    assert not ScoringConfigVersion.objects.exists()


def test_propose_then_a_second_admin_activates_from_the_page(
    admins: tuple[Any, Any], django_capture_on_commit_callbacks: Any
) -> None:
    disposed_cases(confirmed=30, dismissed=30)
    first, second = signed_in(admins[0]), signed_in(admins[1])
    page = html(first.post("/trust/scoring/propose/", {"note": "quarterly"}, follow=True))
    row = ScoringConfigVersion.objects.get(state=ConfigState.PROPOSED)
    assert f"Refit {row.version} proposed" in page
    for text in ("NDCG@50", "Average precision", "Brier score", "Calibration", SIGNAL):
        assert text in page
    assert f"compared on <strong>{row.evaluation['held_out']}</strong> held back" in page
    assert "another trust administrator must activate it" in page
    assert f"Activate {row.version}" not in page, "the proposer is offered no activation"
    # a hand-made POST by the proposer is refused, as a message
    refused = html(
        first.post(f"/trust/scoring/{row.version}/decide/", {"decision": "activate"}, follow=True)
    )
    assert "A second trust administrator must activate a refit you proposed." in refused
    assert active_config() == DEFAULT_CONFIG
    assert AuditEntry.objects.filter(action="refused", target=row.version).exists()

    assert f"Activate {row.version}" in html(second.get("/trust/scoring/"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = html(
            second.post(
                f"/trust/scoring/{row.version}/decide/", {"decision": "activate"}, follow=True
            )
        )
    assert f"{row.version} is active" in done
    assert len(callbacks) == 1
    assert active_config().version == row.version
    assert "No refit is waiting." in done


def test_reject_from_the_page(admins: tuple[Any, Any]) -> None:
    disposed_cases(confirmed=30, dismissed=30)
    signed_in(admins[0]).post("/trust/scoring/propose/")
    row = ScoringConfigVersion.objects.get()
    page = html(
        signed_in(admins[1]).post(
            f"/trust/scoring/{row.version}/decide/", {"decision": "reject"}, follow=True
        )
    )
    assert f"{row.version} rejected" in page
    assert ScoringConfigVersion.objects.get().state == ConfigState.REJECTED
    assert "Earlier configurations" in page
    assert (
        signed_in(admins[1])
        .post(f"/trust/scoring/{row.version}/decide/", {"decision": "other"})
        .status_code
        == 404
    )


def test_the_database_refuses_an_activation_by_the_proposer(admins: tuple[Any, Any]) -> None:
    disposed_cases(confirmed=30, dismissed=30)
    signed_in(admins[0]).post("/trust/scoring/propose/")
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoringConfigVersion.objects.update(state=ConfigState.ACTIVE, decided_by=admins[0])


def test_a_refit_above_the_viewers_clearance_shows_no_figures(
    admins: tuple[Any, Any], make_web_user: Any
) -> None:
    disposed_cases(confirmed=30, dismissed=30, level=Classification.SECRET)
    signed_in(admins[0]).post("/trust/scoring/propose/")
    row = ScoringConfigVersion.objects.get(state=ConfigState.PROPOSED)
    low = signed_in(make_web_user(Role.TRUST_ADMIN, "CONFIDENTIAL"))
    page = html(low.get("/trust/scoring/"))
    assert f"{row.version} waits for activation" in page
    assert "learned from dispositions up to SECRET, above your clearance" in page
    assert "Held-out comparison" not in page
    assert f"Activate {row.version}" not in page
    assert "No refit is waiting." not in page
    response = low.post(
        f"/trust/scoring/{row.version}/decide/", {"decision": "activate"}, follow=True
    )
    assert "cleared to SECRET" in html(response)
    row.refresh_from_db()
    assert row.state == ConfigState.PROPOSED
    assert "Held-out comparison" in html(signed_in(admins[1]).get("/trust/scoring/"))
