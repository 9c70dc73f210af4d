"""Learning from dispositions (issue 9, item 4): a trust administrator proposes a refit of the
risk score to the closed cases, held-out figures compare it with the active configuration, and
only a second administrator makes it active (every case rescored, naming it)."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from accounts.models import Role
from audit.models import AuditEntry
from cases.models import CaseScore, ConfigState, ScoringConfigVersion
from cases.refit import activate_proposed, propose_refit, reject_proposed
from cases.services import activate_config, active_config, rescore_all
from core.markings import Classification
from riskscore.features import DEFAULT_CONFIG
from riskscore.fit import MIN_DISPOSITIONS, MIN_PER_CLASS

from .refit_data import SIGNAL, disposed_cases

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins(make_user: Callable[..., Any]) -> tuple[Any, Any]:
    return make_user(Role.TRUST_ADMIN), make_user(Role.TRUST_ADMIN)


def weight_of(row: ScoringConfigVersion, name: str) -> float:
    return next(f["weight"] for f in row.config["features"] if f["name"] == name)


def test_too_few_dispositions_propose_nothing_and_say_how_many(admins: tuple[Any, Any]) -> None:
    disposed_cases(confirmed=20, dismissed=MIN_PER_CLASS - 1)
    with pytest.raises(ValidationError) as caught:
        propose_refit(admins[0])
    message = " ".join(caught.value.messages)
    assert f"{20 + MIN_PER_CLASS - 1} closed cases" in message
    assert f"20 confirmed, {MIN_PER_CLASS - 1} dismissed" in message
    assert f"at least {MIN_DISPOSITIONS}" in message
    assert "Nothing was proposed" in message
    assert not ScoringConfigVersion.objects.exists()
    assert not AuditEntry.objects.filter(action="scoring.propose").exists()


def test_a_refit_is_proposed_with_both_configurations_compared(admins: tuple[Any, Any]) -> None:
    disposed_cases(confirmed=35, dismissed=35)
    row = propose_refit(admins[0], note="first refit")
    assert row.state == ConfigState.PROPOSED
    assert row.created_by == admins[0]
    assert active_config() == DEFAULT_CONFIG, "a proposal is not used"
    ev = row.evaluation
    assert ev["base_version"] == DEFAULT_CONFIG.version
    assert ev["dispositions"] == 70
    assert ev["confirmed"] == 35
    assert ev["dismissed"] == 35
    assert ev["trained_on"] + ev["held_out"] == 70
    assert 8 <= ev["held_out"] <= 35  # about 30 % held back
    for side in ("fitted", "active"):
        assert ev[side]["cases"] == ev["held_out"]
        assert set(ev[side]) >= {"ndcg50", "average_precision", "brier", "calibration"}
    assert ev["fitted"]["average_precision"] >= ev["active"]["average_precision"]
    changes = ev["weights"]
    assert [abs(c["change"]) for c in changes] == sorted(
        (abs(c["change"]) for c in changes), reverse=True
    )
    before = DEFAULT_CONFIG.weights[DEFAULT_CONFIG.index(SIGNAL)]
    assert weight_of(row, SIGNAL) > before + 0.2, "the feature that carries signal gained weight"
    assert max(changes, key=lambda c: c["change"])["feature"] == SIGNAL, "it rose the most"
    entry = AuditEntry.objects.get(action="scoring.propose")
    assert entry.actor == admins[0].username
    assert entry.target == row.version
    assert entry.details["dispositions"] == 70
    assert set(entry.details["ndcg50"]) == {"fitted", "active"}


def test_an_analyst_may_not_propose_and_the_refusal_is_audited(
    make_user: Callable[..., Any],
) -> None:
    disposed_cases(confirmed=30, dismissed=30)
    analyst = make_user(Role.ANALYST)
    with pytest.raises(PermissionDenied):
        propose_refit(analyst)
    assert not ScoringConfigVersion.objects.exists()
    refusal = AuditEntry.objects.get(action="refused")
    assert refusal.actor == analyst.username
    assert refusal.details["action"] == "scoring.propose"


def test_a_refit_learns_only_from_dispositions_the_proposer_may_see(
    make_user: Callable[..., Any],
) -> None:
    disposed_cases(confirmed=30, dismissed=30)
    disposed_cases(confirmed=10, dismissed=10, seed=8, level=Classification.SECRET)
    low = propose_refit(make_user(Role.TRUST_ADMIN, "CONFIDENTIAL"))
    assert low.evaluation["dispositions"] == 60
    assert low.evaluation["learned_up_to"] == Classification.OFFICIAL
    high = propose_refit(make_user(Role.TRUST_ADMIN, "SECRET"))
    assert high.evaluation["dispositions"] == 80
    assert high.evaluation["learned_up_to"] == Classification.SECRET


def test_deciding_on_a_refit_needs_clearance_for_what_it_learned_from(
    make_user: Callable[..., Any],
) -> None:
    disposed_cases(confirmed=30, dismissed=30, level=Classification.SECRET)
    row = propose_refit(make_user(Role.TRUST_ADMIN, "SECRET"))
    low = make_user(Role.TRUST_ADMIN, "CONFIDENTIAL")
    for decide, action in ((activate_proposed, "activate"), (reject_proposed, "reject")):
        with pytest.raises(PermissionDenied, match="cleared to SECRET"):
            decide(low, row.version)
        refusal = AuditEntry.objects.filter(action="refused").latest("pk")
        assert refusal.details["action"] == f"scoring.{action}"
        assert refusal.actor == low.username
    row.refresh_from_db()
    assert row.state == ConfigState.PROPOSED
    activate_proposed(make_user(Role.TRUST_ADMIN, "SECRET"), row.version)
    assert active_config().version == row.version


def test_the_proposer_cannot_activate_a_second_admin_does(
    admins: tuple[Any, Any], django_capture_on_commit_callbacks: Any
) -> None:
    first, second = admins
    previous = activate_config({**DEFAULT_CONFIG.to_dict(), "version": "hand-set-2"})
    cases = disposed_cases(confirmed=30, dismissed=30)
    row = propose_refit(first)
    assert row.evaluation["base_version"] == previous.version

    with pytest.raises(PermissionDenied):
        activate_proposed(first, row.version)
    refusal = AuditEntry.objects.filter(action="refused").get()
    assert refusal.details["action"] == "scoring.activate"
    assert refusal.target == row.version
    assert active_config().version == "hand-set-2"

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        activate_proposed(second, row.version)
    assert len(callbacks) == 1, "every case is rescored after commit"
    states = dict(ScoringConfigVersion.objects.values_list("version", "state"))
    assert states == {"hand-set-2": ConfigState.RETIRED, row.version: ConfigState.ACTIVE}
    row.refresh_from_db()
    assert row.decided_by == second
    assert row.decided_at is not None
    assert active_config().version == row.version

    assert rescore_all() == len(cases)  # what the worker runs
    assert set(CaseScore.objects.values_list("config_version", flat=True)) == {row.version}
    entry = AuditEntry.objects.get(action="scoring.activate")
    assert entry.actor == second.username
    assert entry.target == row.version
    assert entry.details["previous"] == "hand-set-2"
    assert entry.details["proposed_by"] == first.username

    with pytest.raises(ValidationError, match="is active, not proposed"):
        activate_proposed(second, row.version)


def test_a_refit_compared_with_a_retired_configuration_is_not_activated(
    admins: tuple[Any, Any],
) -> None:
    first, second = admins
    disposed_cases(confirmed=30, dismissed=30)
    row = propose_refit(first)
    activate_config({**DEFAULT_CONFIG.to_dict(), "version": "hand-set-3"})
    with pytest.raises(ValidationError, match="hand-set-3 is active now"):
        activate_proposed(second, row.version)
    assert ScoringConfigVersion.objects.get(version=row.version).state == ConfigState.PROPOSED


def test_rejection_is_audited_and_the_proposal_is_never_used(admins: tuple[Any, Any]) -> None:
    first, second = admins
    disposed_cases(confirmed=30, dismissed=30)
    row = propose_refit(first)
    reject_proposed(second, row.version)
    row.refresh_from_db()
    assert row.state == ConfigState.REJECTED
    assert row.decided_by == second
    assert active_config() == DEFAULT_CONFIG
    entry = AuditEntry.objects.get(action="scoring.reject")
    assert entry.details == {"proposed_by": first.username, "withdrawn": False}
    with pytest.raises(ValidationError, match="rejected, not proposed"):
        activate_proposed(second, row.version)


def test_one_active_configuration_in_the_database() -> None:
    ScoringConfigVersion.objects.create(
        version="a", config=DEFAULT_CONFIG.to_dict(), state=ConfigState.ACTIVE
    )
    ScoringConfigVersion.objects.create(version="b", config=DEFAULT_CONFIG.to_dict())
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoringConfigVersion.objects.filter(version="b").update(state=ConfigState.ACTIVE)


def test_the_command_proposes_as_the_named_admin_and_prints_the_comparison(
    admins: tuple[Any, Any],
) -> None:
    first, second = admins
    disposed_cases(confirmed=30, dismissed=30)
    out = StringIO()
    call_command("scoring_refit", "propose", "--by", first.username, "--note", "cli", stdout=out)
    row = ScoringConfigVersion.objects.get(state=ConfigState.PROPOSED)
    text = out.getvalue()
    assert "NDCG@50" in text
    assert "Average precision" in text
    assert "Brier score" in text
    assert SIGNAL in text
    assert row.version in text
    entry = AuditEntry.objects.get(action="scoring.propose")
    assert entry.actor == first.username
    assert entry.details["via"].startswith("command:")
    with pytest.raises(CommandError, match="second trust administrator"):
        call_command("scoring_refit", "activate", row.version, "--by", first.username)
    call_command("scoring_refit", "activate", row.version, "--by", second.username, stdout=out)
    assert active_config().version == row.version
