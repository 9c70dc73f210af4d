"""Sign-in with password then TOTP (enrolment on first sign-in), lockout, sign-out."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import segno
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts import second_factor
from accounts.selectors import profile_of
from audit.services import record
from core.selectors import this_node

from ..access import SECOND_FACTOR_KEY, fully_signed_in
from ..forms import CodeForm, LoginForm

PENDING_USER = "web_pending_user"
PENDING_AT = "web_pending_at"
NEXT_URL = "web_next"
PENDING_TTL_S = 300


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("web:home")


def _address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, which `ops.middleware` has already set to the client
    behind a trusted proxy (TRUSTED_PROXIES) and left as the socket's peer otherwise."""
    return str(request.META.get("REMOTE_ADDR", ""))


def _lock_message(attempt: second_factor.Attempt) -> str:
    until = attempt.locked_until
    if until is None:
        return ""
    minutes = max(1, round((until.timestamp() - time.time()) / 60))
    where = "" if attempt.account_wide else " for sign-ins from your address"
    return (
        f"Too many failed sign-ins: this account is locked until {until:%H:%M} UTC{where} "
        f"(about {minutes} minute{'s' if minutes != 1 else ''}). Try again then, or ask a "
        "trust administrator."
    )


def _refused(username: str, attempt: second_factor.Attempt, stage: str) -> None:
    scope = "account" if attempt.account_wide else "address"
    details = {"reason": "locked", "scope": scope, "stage": stage, "ip": attempt.address}
    record("anonymous", "auth.sign_in_refused", username, details)


def _pending_user(request: HttpRequest) -> User | None:
    user_id = request.session.get(PENDING_USER)
    started = request.session.get(PENDING_AT, 0)
    if not user_id or time.time() - float(started) > PENDING_TTL_S:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def _complete(request: HttpRequest, user: User) -> HttpResponse:
    second_factor.clear_failures(user.get_username(), _address(request))
    target = request.session.get(NEXT_URL)
    for key in (PENDING_USER, PENDING_AT, NEXT_URL):
        request.session.pop(key, None)
    request.session[SECOND_FACTOR_KEY] = True
    login(request, user)
    request.session[SECOND_FACTOR_KEY] = True
    return HttpResponseRedirect(_safe_next(request, target))


def _password_accepted(request: HttpRequest, user: User, form: LoginForm) -> HttpResponse:
    if profile_of(user) is None:
        error = "This account has no role on this node. Ask a trust administrator."
        context = {"form": form, "error": error, "next": _next_given(request)}
        return render(request, "web/auth/login.html", context, status=403)
    request.session.cycle_key()
    request.session[PENDING_USER] = user.pk
    request.session[PENDING_AT] = time.time()
    request.session[NEXT_URL] = _safe_next(request, _next_given(request) or None)
    if second_factor.has_confirmed_device(user):
        return redirect("web:login-verify")
    return redirect("web:login-enrol")


def _next_given(request: HttpRequest) -> str:
    return str(request.POST.get("next") or request.GET.get("next", ""))


def login_view(request: HttpRequest) -> HttpResponse:
    if fully_signed_in(request):
        return HttpResponseRedirect(_safe_next(request, request.GET.get("next")))
    form = LoginForm(request.POST or None)
    error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        attempt = second_factor.admit(username, _address(request))
        if not attempt.admitted:
            _refused(username, attempt, "password")
            error, status = _lock_message(attempt), 403
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if not isinstance(user, User):
                locked = attempt.locked_until is not None
                error = _lock_message(attempt) if locked else "Wrong username or password."
                status = 403 if locked else 401
            else:
                second_factor.refund(attempt)
                return _password_accepted(request, user, form)
    return render(
        request,
        "web/auth/login.html",
        # a failed attempt keeps where the user was going
        {
            "form": form,
            "error": error,
            "next": _next_given(request),
        },
        status=status,
    )


def _check_code(request: HttpRequest, user: User, code: str) -> str | None:
    """Count the attempt, then check the code: None when it was right, else the error."""
    username = user.get_username()
    attempt = second_factor.admit(username, _address(request))
    if not attempt.admitted:
        _refused(username, attempt, "totp")
        return _lock_message(attempt)
    if second_factor.verify_code(user, code):
        second_factor.refund(attempt)
        return None
    record(user, "auth.sign_in_failed", username, {"stage": "totp"})
    if attempt.locked_until is not None:
        return _lock_message(attempt)
    return "That code is not right, or was already used. Wait for the next one and try again."


def _is_locked(request: HttpRequest, user: User) -> bool:
    return second_factor.current_lock(user.get_username(), _address(request)) is not None


def _locked_out(request: HttpRequest, error: str | None) -> HttpResponse:
    for key in (PENDING_USER, PENDING_AT):
        request.session.pop(key, None)
    return render(request, "web/auth/login.html", {"form": LoginForm(), "error": error}, status=403)


def verify_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return redirect("web:login")
    if not second_factor.has_confirmed_device(user):
        return redirect("web:login-enrol")
    form = CodeForm(request.POST or None)
    error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        error = _check_code(request, user, form.cleaned_data["code"])
        if error is None:
            return _complete(request, user)
        if _is_locked(request, user):
            return _locked_out(request, error)
        status = 401
    return render(
        request, "web/auth/verify.html", {"form": form, "error": error, "who": user}, status=status
    )


def enrol_view(request: HttpRequest) -> HttpResponse:
    user = _pending_user(request)
    if user is None:
        return redirect("web:login")
    if second_factor.has_confirmed_device(user):
        return redirect("web:login-verify")
    device = second_factor.start_enrolment(user)
    form = CodeForm(request.POST or None)
    error = None
    status = 200
    if request.method == "POST" and form.is_valid():
        error = _check_code(request, user, form.cleaned_data["code"])
        if error is None:
            record(user, "auth.totp_enrolled", user.get_username())
            return _complete(request, user)
        if _is_locked(request, user):
            return _locked_out(request, error)
        status = 401
    uri = second_factor.provisioning_uri(device, f"Allied exchange ({this_node().code.upper()})")
    qr = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#0b0c0c", light="#ffffff", title="QR code of your authenticator secret"
    )
    grouped = " ".join(device.secret[i : i + 4] for i in range(0, len(device.secret), 4))
    return render(
        request,
        "web/auth/enrol.html",
        {
            "form": form,
            "error": error,
            "who": user,
            "secret": grouped,
            # segno writes the SVG itself and XML-escapes the URI it encodes
            "qr_svg": mark_safe(qr),  # noqa: S308
            "uri": uri,
        },
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        record(request.user, "auth.sign_out", request.user.get_username())
    logout(request)
    return redirect("web:login")


def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The Django admin signs in through the web UI, so it gets the second factor too. Someone
    already signed in whom the admin still turned away is refused, not sent round again."""
    if fully_signed_in(request):
        raise PermissionDenied("the admin is open to trust administrators with staff access only")
    target = request.GET.get("next") or reverse("admin:index")
    return HttpResponseRedirect(f"{reverse('web:login')}?{urlencode({'next': target})}")
