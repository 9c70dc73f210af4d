"""Trust console for trust administrators: partners, policies (simulated, approved by a second
administrator), keys, federation health and sign-in help (locks, second factors)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import second_factor
from accounts.models import ACCOUNT_WIDE, Role
from cases import refit
from cases import selectors as case_selectors
from core.markings import Classification
from federation.client import PartnerUnreachable
from federation.models import Partner, PartnerStatus
from federation.protocol.errors import ProtocolError
from federation.selectors import policy_for

from .. import selectors, services
from ..access import current_user, role_required
from ..forms import (
    DecisionForm,
    PartnerForm,
    PolicyForm,
    RevokeForm,
    RotateForm,
    SignInHelpForm,
)
from ..marking import page_banner
from ..models import PolicyChangeState

trust_admin = role_required(Role.TRUST_ADMIN)


def _partner(code: str) -> Partner:
    partner = selectors.partner_by_code(code)
    if partner is None:
        raise Http404("no such partner")
    return partner


def _errors_into(form: Any, exc: ValidationError) -> None:
    for field, problems in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


# --------------------------------------------------------------------------------------------
# Partners
# --------------------------------------------------------------------------------------------


@trust_admin
def partner_list(request: HttpRequest) -> HttpResponse:
    pending = {c.partner_id: c for c in selectors.pending_changes()}
    rows = [(p, policy_for(p), pending.get(p.pk)) for p in selectors.partners()]
    return render(request, "web/trust/partners.html", {"rows": rows})


@require_POST
@trust_admin
def partner_status(request: HttpRequest, code: str) -> HttpResponse:
    partner = _partner(code)
    wanted = request.POST.get("status", "")
    if wanted not in PartnerStatus.values:
        raise Http404("unknown status")
    services.change_partner_status(user=current_user(request), partner=partner, status=wanted)
    verb = "resumed" if wanted == PartnerStatus.ACTIVE else "suspended"
    messages.success(request, f"{partner.code.upper()} {verb}.")
    return redirect("web:partners")


@trust_admin
def partner_new(request: HttpRequest) -> HttpResponse:
    """Step 1: enter code, URL and fingerprint; step 2: compare with the fetched manifest;
    step 3: confirm (only offered when the fingerprints match and the manifest verifies)."""
    form = PartnerForm(request.POST or None)
    check = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        check = services.check_partner_manifest(
            code=data["code"], base_url=data["base_url"], fingerprint=data["fingerprint"]
        )
        if request.POST.get("_action") == "confirm" and check.verified and check.matches:
            try:
                partner = services.onboard_partner(
                    user=current_user(request),
                    code=data["code"],
                    base_url=data["base_url"],
                    fingerprint=data["fingerprint"],
                    name=data["name"],
                )
            except ValidationError as exc:
                _errors_into(form, exc)
            except (ProtocolError, PartnerUnreachable, ValueError) as exc:
                form.add_error(None, f"The partner could not be added: {exc}")
            else:
                messages.success(
                    request,
                    f"{partner.code.upper()} added, suspended, with the narrowest policy "
                    "(OFFICIAL, TLP:CLEAR). Propose its policy; once another administrator "
                    "approves it, resume the partner.",
                )
                return redirect("web:partner-policy", code=partner.code)
    return render(request, "web/trust/partner_new.html", {"form": form, "check": check})


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------


def _initial(partner: Partner) -> dict[str, Any]:
    policy = policy_for(partner)
    return {
        "ceiling": policy.ceiling.name,
        "categories": sorted(policy.categories),
        "tlp_allowed": sorted(policy.tlp_allowed),
        "relay_origins": sorted(policy.relay_origins),
    }


def _proposal(form: PolicyForm) -> services.PolicyInput:
    data = form.cleaned_data
    return services.check_policy_input(
        ceiling=data["ceiling"],
        categories=data["categories"],
        tlp_allowed=data["tlp_allowed"],
        relay_origins=data["relay_origins"],
    )


def _policy_context(
    request: HttpRequest, partner: Partner, form: PolicyForm, simulation: Any
) -> dict[str, Any]:
    changes = list(selectors.policy_changes(partner))
    pending = next((c for c in changes if c.state == PolicyChangeState.PENDING), None)
    pending_simulation = _pending_simulation(request, partner, pending)
    levels = [
        r.classification
        for shown in (simulation, pending_simulation)
        if shown is not None
        for r in (shown.start + shown.stop)
    ]
    return {
        "partner": partner,
        "policy": policy_for(partner),
        "form": form,
        "simulation": simulation,
        "changes": changes,
        "pending": pending,
        "pending_simulation": pending_simulation,
        "decision_form": DecisionForm(),
        "me": current_user(request),
        "banner": page_banner(levels),
    }


def _pending_simulation(request: HttpRequest, partner: Partner, pending: Any) -> Any:
    if pending is None:
        return None
    proposal = services.PolicyInput(
        Classification(pending.ceiling),
        frozenset(pending.categories),
        frozenset(pending.tlp_allowed),
        frozenset(pending.relay_origins),
    )
    return selectors.simulate_policy(request.user, partner, proposal.as_policy(partner))


@trust_admin
def partner_policy(request: HttpRequest, code: str) -> HttpResponse:
    partner = _partner(code)
    form = PolicyForm(request.POST or None, initial=_initial(partner))
    simulation = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                proposal = _proposal(form)
                simulation = selectors.simulate_policy(
                    request.user, partner, proposal.as_policy(partner)
                )
                if request.POST.get("_action") == "propose":
                    change = services.propose_policy_change(
                        user=current_user(request),
                        partner=partner,
                        proposal=proposal,
                        reason=form.cleaned_data["reason"],
                    )
                    messages.success(
                        request,
                        f"Change #{change.pk} proposed. Another trust administrator must "
                        "approve it before it takes effect.",
                    )
                    return redirect("web:partner-policy", code=partner.code)
            except ValidationError as exc:
                _errors_into(form, exc)
                status = 400
        else:
            status = 400
    context = _policy_context(request, partner, form, simulation)
    return render(request, "web/trust/policy.html", context, status=status)


@require_POST
@trust_admin
def policy_simulate(request: HttpRequest, code: str) -> HttpResponse:
    """htmx: the release simulator for the policy as the form now stands."""
    partner = _partner(code)
    form = PolicyForm(request.POST)
    simulation = None
    problem = ""
    if form.is_valid():
        try:
            proposal = _proposal(form)
        except ValidationError as exc:
            problem = "; ".join(m for ms in exc.message_dict.values() for m in ms)
        else:
            simulation = selectors.simulate_policy(
                request.user, partner, proposal.as_policy(partner)
            )
    else:
        problem = "; ".join(str(m) for ms in form.errors.values() for m in ms)
    levels = [r.classification for r in (simulation.start + simulation.stop)] if simulation else []
    return render(
        request,
        "web/trust/_simulation.html",
        {
            "simulation": simulation,
            "problem": problem,
            "partner": partner,
            "banner": page_banner(levels),
            "oob": True,
        },
    )


@require_POST
@trust_admin
def policy_decide(request: HttpRequest, code: str, change_id: int) -> HttpResponse:
    partner = _partner(code)
    form = DecisionForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    decision = request.POST.get("decision")
    try:
        if decision == "approve":
            change = services.approve_policy_change(
                user=current_user(request), change_id=change_id, note=note
            )
            if change.state == PolicyChangeState.STALE:
                messages.error(
                    request, "The policy changed after this was proposed: propose it again."
                )
            else:
                messages.success(
                    request, f"Change #{change.pk} approved: policy v{change.applied_version}."
                )
        elif decision == "reject":
            change = services.reject_policy_change(
                user=current_user(request), change_id=change_id, note=note
            )
            messages.success(request, f"Change #{change.pk} {change.state}.")
        else:
            raise Http404("unknown decision")
    except PermissionDenied as exc:
        messages.error(request, str(exc)[:1].upper() + str(exc)[1:] + ".")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("web:partner-policy", code=partner.code)


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


@trust_admin
def keys_page(request: HttpRequest) -> HttpResponse:
    own = selectors.own_keys()
    return render(
        request,
        "web/trust/keys.html",
        {
            "own_keys": [
                (
                    key,
                    selectors.epoch_to_datetime(key.not_before),
                    selectors.epoch_to_datetime(key.expired_at),
                    selectors.epoch_to_datetime(key.revoked_at),
                )
                for key in own
            ],
            "manifest": selectors.latest_own_manifest(),
            "manifest_until": (
                selectors.epoch_to_datetime(m.valid_until)
                if (m := selectors.latest_own_manifest())
                else None
            ),
            "partner_manifests": selectors.partner_manifests(),
            "revoke_error": request.GET.get("revoke_error"),
        },
    )


@require_POST
@trust_admin
def key_rotate(request: HttpRequest) -> HttpResponse:
    form = RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Only report and request keys rotate online.")
        return redirect("web:keys")
    try:
        new = services.rotate_key(user=current_user(request), use=form.cleaned_data["use"])
    except ValueError as exc:  # no standby key yet: the root must vouch for one first
        messages.error(request, str(exc))
        return redirect("web:keys")
    messages.success(request, f"New {new.use} key {new.kid}; the old one is retired.")
    return redirect("web:keys")


@require_POST
@trust_admin
def key_revoke(request: HttpRequest) -> HttpResponse:
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a reason to revoke a key.")
        return redirect("web:keys")
    try:
        row = services.revoke_key(
            user=current_user(request),
            kid=form.cleaned_data["kid"],
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:keys")
    messages.success(
        request, f"{row.kid} revoked: no longer used; run the key ceremony now to tell partners."
    )
    return redirect("web:keys")


# --------------------------------------------------------------------------------------------
# Health
# --------------------------------------------------------------------------------------------


@trust_admin
def health_page(request: HttpRequest) -> HttpResponse:
    letters = selectors.dead_letters(request.user)
    return render(
        request,
        "web/trust/health.html",
        {
            "health": selectors.partner_health(request.user),
            "dead_letters": letters,
            "refusals": selectors.recent_refusals(),
            "anonymous_refusals": selectors.anonymous_refusals(),
            "banner": page_banner(
                [*selectors.queued_levels(request.user)]
                + [d.envelope.report.classification for d in letters]
            ),
        },
    )


@require_POST
@trust_admin
def replay(request: HttpRequest, code: str) -> HttpResponse:
    partner = _partner(code)
    ids = [int(i) for i in request.POST.getlist("delivery") if i.isdigit()]
    visible = {d.pk for d in selectors.dead_letters(request.user) if d.partner_id == partner.pk}
    chosen = [i for i in ids if i in visible] if ids else sorted(visible)
    count = services.replay(user=current_user(request), partner_code=partner.code, ids=chosen)
    messages.success(request, f"{count} dead letter{'s' if count != 1 else ''} queued again.")
    return redirect("web:health")


# --------------------------------------------------------------------------------------------
# Sign-ins
# --------------------------------------------------------------------------------------------


@trust_admin
def sign_ins_page(request: HttpRequest) -> HttpResponse:
    locks = second_factor.locked_accounts()
    return render(
        request,
        "web/trust/sign_ins.html",
        {"locks": locks, "account_wide": ACCOUNT_WIDE, "reset_form": SignInHelpForm()},
    )


@require_POST
@trust_admin
def sign_in_unlock(request: HttpRequest) -> HttpResponse:
    form = SignInHelpForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say which account to unlock.")
        return redirect("web:sign-ins")
    username = form.cleaned_data["username"]
    lifted = services.unlock_sign_in(user=current_user(request), username=username)
    messages.success(
        request, f"{username}: {lifted} lock{'s' if lifted != 1 else ''} lifted, failures cleared."
    )
    return redirect("web:sign-ins")


@require_POST
@trust_admin
def sign_in_reset_second_factor(request: HttpRequest) -> HttpResponse:
    form = SignInHelpForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whose second factor to reset.")
        return redirect("web:sign-ins")
    username = form.cleaned_data["username"]
    try:
        services.reset_second_factor(user=current_user(request), username=username)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:sign-ins")
    messages.success(
        request, f"{username}: authenticator removed; they enrol a new one at their next sign-in."
    )
    return redirect("web:sign-ins")


# --------------------------------------------------------------------------------------------
# Risk score: refits learned from dispositions, activated by a second administrator
# --------------------------------------------------------------------------------------------


def _refusal_text(exc: PermissionDenied | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    text = str(exc)
    return text[:1].upper() + text[1:] + "."


@trust_admin
def scoring_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/trust/scoring.html",
        {"overview": case_selectors.scoring_overview(request.user), "me": current_user(request)},
    )


@require_POST
@trust_admin
def scoring_propose(request: HttpRequest) -> HttpResponse:
    try:
        row = refit.propose_refit(current_user(request), note=request.POST.get("note", ""))
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _refusal_text(exc))
    else:
        messages.success(
            request,
            f"Refit {row.version} proposed. Another trust administrator must activate it "
            "before it is used.",
        )
    return redirect("web:scoring")


@require_POST
@trust_admin
def scoring_decide(request: HttpRequest, version: str) -> HttpResponse:
    decision = request.POST.get("decision")
    if decision not in ("activate", "reject"):
        raise Http404("unknown decision")
    try:
        if decision == "activate":
            row = refit.activate_proposed(current_user(request), version)
            messages.success(
                request, f"{row.version} is active; every case is being rescored with it."
            )
        else:
            row = refit.reject_proposed(current_user(request), version)
            messages.success(request, f"{row.version} rejected; it will not be used.")
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _refusal_text(exc))
    return redirect("web:scoring")
