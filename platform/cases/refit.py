"""Learning from dispositions: the risk score's weights refitted to analysts' closed cases.

A trust administrator proposes a refit: every disposed case they may see, its stored feature
vector and its label (closed_confirmed = 1, closed_dismissed = 0) are read, a deterministic
share is held back (`riskscore.fit.holdout_mask`, keyed by case id, so the same case is always
on the same side), `riskscore.fit.fit_config` fits the rest starting from the active
configuration, and both configurations are evaluated on the held-back dispositions. The result
is stored as a *proposed* `ScoringConfigVersion` beside its evaluation, with the highest level
it learned from; nothing is used until a second trust administrator, cleared to that level,
activates it through the one activation path (`services.make_active`, which retires the
previous configuration and has every case rescored). Every step is audited; refused attempts
too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from numpy.typing import NDArray

from accounts.models import Role
from accounts.selectors import clearance_of, profile_of
from audit.services import record, refusals_audited
from core.markings import Classification
from riskscore.engine import ScoringConfig
from riskscore.fit import MIN_DISPOSITIONS, MIN_PER_CLASS, FitError, evaluate, fit_config
from riskscore.fit import holdout_mask as hash_holdout

from .models import Case, CaseStatus, ConfigState, ScoringConfigVersion
from .selectors import learned_up_to
from .services import Actor, active_config, lock_configs, make_active

__all__ = [
    "HOLDOUT_SHARE",
    "L2",
    "activate_proposed",
    "propose_refit",
    "reject_proposed",
]

HOLDOUT_SHARE = 0.3  # of the dispositions, held back from fitting to compare on
L2 = 8.0  # pull toward the active weights (riskscore.fit: the prior is the active config)


def _trust_admin(user: Actor) -> User:
    profile = profile_of(user)
    if not isinstance(user, User) or profile is None or profile.role != Role.TRUST_ADMIN:
        raise PermissionDenied("refitting the risk score needs the trust administrator role")
    return user


def _require_cleared_for(admin: User, row: ScoringConfigVersion, action: str) -> None:
    """Deciding on a refit means reading figures drawn from its dispositions."""
    level = learned_up_to(row)
    clearance = clearance_of(admin)
    if clearance is None or clearance < level:
        raise PermissionDenied(
            f"{row.version} learned from dispositions up to {level.name}: {action} it needs "
            f"a trust administrator cleared to {level.name}"
        )


@dataclass(frozen=True)
class Dispositions:
    """Closed cases as a fitting problem: ids, features (n x f, NaN = missing) and labels."""

    ids: list[int]
    X: NDArray[np.float64]
    y: NDArray[np.int64]
    skipped: int  # closed cases whose stored features do not fit the configuration
    highest_level: int = 0  # of the cases used

    @property
    def confirmed(self) -> int:
        return int(self.y.sum())

    @property
    def dismissed(self) -> int:
        return len(self.ids) - self.confirmed


def dispositions(width: int, clearance: Classification) -> Dispositions:
    """Every closed case at or below `clearance` (the proposer's: a refit reads nothing they
    may not see) whose stored feature vector has `width` values, in id order."""
    rows = (
        Case.objects.filter(
            status__in=[CaseStatus.CLOSED_CONFIRMED, CaseStatus.CLOSED_DISMISSED],
            classification__lte=int(clearance),
        )
        .order_by("pk")
        .values_list("pk", "status", "features", "classification")
    )
    ids: list[int] = []
    vectors: list[NDArray[np.float64]] = []
    labels: list[int] = []
    skipped = highest = 0
    for pk, status, features, level in rows.iterator(chunk_size=5000):
        raw = bytes(features or b"")
        if len(raw) != 8 * width:
            skipped += 1
            continue
        highest = max(highest, level)
        ids.append(pk)
        vectors.append(np.frombuffer(raw, dtype="<f8"))
        labels.append(1 if status == CaseStatus.CLOSED_CONFIRMED else 0)
    X = np.vstack(vectors) if vectors else np.empty((0, width))
    return Dispositions(ids, X, np.asarray(labels, dtype=np.int64), skipped, highest)


def _require_enough(data: Dispositions) -> None:
    if (
        len(data.ids) >= MIN_DISPOSITIONS
        and data.confirmed >= MIN_PER_CLASS
        and data.dismissed >= MIN_PER_CLASS
    ):
        return
    skipped = f"; {data.skipped} more have no usable features" if data.skipped else ""
    raise ValidationError(
        f"Too few dispositions to refit: {len(data.ids)} closed cases "
        f"({data.confirmed} confirmed, {data.dismissed} dismissed){skipped}. A refit needs "
        f"at least {MIN_DISPOSITIONS}, with at least {MIN_PER_CLASS} confirmed and "
        f"{MIN_PER_CLASS} dismissed. Nothing was proposed."
    )


def _require_both_classes(y: NDArray[np.int64], part: str) -> None:
    if y.size == 0 or int(y.sum()) in (0, int(y.size)):
        raise ValidationError(
            f"The {part} dispositions ({y.size} cases, {int(y.sum())} confirmed) do not hold "
            "both outcomes; close more cases and propose again. Nothing was proposed."
        )


def weight_changes(before: ScoringConfig, after: ScoringConfig) -> list[dict[str, Any]]:
    """Per feature: weight before and after and the change, largest change first."""
    rows = [
        {"feature": name, "before": round(b, 4), "after": round(a, 4), "change": round(a - b, 4)}
        for name, b, a in zip(before.feature_names, before.weights, after.weights, strict=True)
    ]
    return sorted(rows, key=lambda r: (-abs(r["change"]), r["feature"]))


def _next_version() -> str:
    """refit-YYYYMMDD-N: unique under the configuration lock the caller holds."""
    stem = f"refit-{timezone.now():%Y%m%d}-"
    taken = set(
        ScoringConfigVersion.objects.filter(version__startswith=stem).values_list(
            "version", flat=True
        )
    )
    n = 1
    while f"{stem}{n}" in taken:
        n += 1
    return f"{stem}{n}"


def _fitted(data: Dispositions, prior: ScoringConfig) -> tuple[ScoringConfig, dict[str, Any]]:
    """Fit on the part not held back; evaluate both configurations on the held-back part."""
    held = hash_holdout([str(pk) for pk in data.ids], share=HOLDOUT_SHARE)
    _require_both_classes(data.y[~held], "fitting")
    _require_both_classes(data.y[held], "held-back")
    try:
        fitted = fit_config(data.X[~held], data.y[~held], prior, _next_version(), l2=L2)
    except FitError as exc:
        raise ValidationError(f"The refit failed: {exc}. Nothing was proposed.") from None
    evaluation = {
        "base_version": prior.version,
        "dispositions": len(data.ids),
        "confirmed": data.confirmed,
        "dismissed": data.dismissed,
        "skipped": data.skipped,
        "learned_up_to": data.highest_level,
        "trained_on": int((~held).sum()),
        "held_out": int(held.sum()),
        "holdout_share": HOLDOUT_SHARE,
        "l2": L2,
        "fitted": evaluate(data.X[held], data.y[held], fitted).to_dict(),
        "active": evaluate(data.X[held], data.y[held], prior).to_dict(),
        "bias": {"before": round(prior.bias, 4), "after": round(fitted.bias, 4)},
        "weights": weight_changes(prior, fitted),
    }
    return fitted, evaluation


def headline(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The figures an audit entry and the command print: fitted against active, held out."""
    out: dict[str, Any] = {
        "base_version": evaluation.get("base_version"),
        "dispositions": evaluation.get("dispositions"),
        "held_out": evaluation.get("held_out"),
    }
    for metric in ("ndcg50", "average_precision", "brier"):
        out[metric] = {
            "fitted": evaluation.get("fitted", {}).get(metric),
            "active": evaluation.get("active", {}).get(metric),
        }
    return out


def _via(via: str | None) -> dict[str, str]:
    return {"via": via} if via else {}


@refusals_audited("scoring.propose")
@transaction.atomic
def propose_refit(user: Actor, *, note: str = "", via: str | None = None) -> ScoringConfigVersion:
    """Fit weights to the dispositions and store them as a proposed configuration, with the
    held-out comparison against the active one. ValidationError (nothing proposed) when there
    are too few dispositions. `via`: the door, for the audit log (e.g. the command line)."""
    admin = _trust_admin(user)
    clearance = clearance_of(admin)
    if clearance is None:
        raise PermissionDenied("refitting the risk score needs a clearance")
    lock_configs()
    prior = active_config()
    data = dispositions(prior.n_features, clearance)
    _require_enough(data)
    fitted, evaluation = _fitted(data, prior)
    row = ScoringConfigVersion.objects.create(
        version=fitted.version,
        config=fitted.to_dict(),
        state=ConfigState.PROPOSED,
        evaluation=evaluation,
        note=(note or "").strip()[:300],
        created_by=admin,
    )
    record(admin, "scoring.propose", row.version, {**headline(evaluation), **_via(via)})
    return row


def _locked_proposal(version: str) -> ScoringConfigVersion:
    row = (
        ScoringConfigVersion.objects.select_for_update(of=("self",))
        .select_related("created_by")
        .filter(version=str(version))
        .first()
    )
    if row is None:
        raise ValidationError(f"There is no configuration {version}.")
    if row.state != ConfigState.PROPOSED:
        raise ValidationError(f"Configuration {row.version} is {row.state}, not proposed.")
    return row


def _proposer(row: ScoringConfigVersion) -> str | None:
    return row.created_by.get_username() if row.created_by else None


@refusals_audited("scoring.activate")
@transaction.atomic
def activate_proposed(user: Actor, version: str, *, via: str | None = None) -> ScoringConfigVersion:
    """A second trust administrator (not the proposer) makes a proposed refit the active
    configuration: the previous one is retired and every case is rescored after commit."""
    admin = _trust_admin(user)
    lock_configs()
    row = _locked_proposal(version)
    if row.created_by_id == admin.pk:
        raise PermissionDenied("a second trust administrator must activate a refit you proposed")
    _require_cleared_for(admin, row, "activating")
    current = active_config().version
    base = row.evaluation.get("base_version")
    if base != current:
        raise ValidationError(
            f"{row.version} was compared with {base}, but {current} is active now: reject it "
            "and propose a refit again."
        )
    make_active(row, decided_by=admin)
    record(
        admin,
        "scoring.activate",
        row.version,
        {
            "previous": current,
            "proposed_by": _proposer(row),
            **headline(row.evaluation),
            **_via(via),
        },
    )
    return row


@refusals_audited("scoring.reject")
@transaction.atomic
def reject_proposed(user: Actor, version: str, *, via: str | None = None) -> ScoringConfigVersion:
    """A trust administrator rejects a proposed refit (the proposer may withdraw their own);
    it is kept, with its evaluation, and never used."""
    admin = _trust_admin(user)
    lock_configs()
    row = _locked_proposal(version)
    _require_cleared_for(admin, row, "rejecting")
    row.state = ConfigState.REJECTED
    row.decided_by, row.decided_at = admin, timezone.now()
    row.save(update_fields=["state", "decided_by", "decided_at"])
    record(
        admin,
        "scoring.reject",
        row.version,
        {
            "proposed_by": _proposer(row),
            "withdrawn": row.created_by_id == admin.pk,
            **_via(via),
        },
    )
    return row
