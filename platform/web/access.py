"""Who may open which page: signed in with both factors, and holding one of the roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import Profile, Role
from accounts.selectors import AUTHOR_ROLES, profile_of
from audit.services import record

SECOND_FACTOR_KEY = "web_second_factor"
"""Session flag set once the TOTP code was checked; a session without it is not signed in."""

READERS = (Role.ANALYST, Role.RELEASER, Role.TRUST_ADMIN, Role.AUDITOR)
AUTHORS = AUTHOR_ROLES

View = TypeVar("View", bound=Callable[..., HttpResponse])


def fully_signed_in(request: HttpRequest) -> bool:
    return bool(
        request.user.is_authenticated
        and isinstance(request.user, User)
        and request.session.get(SECOND_FACTOR_KEY)
    )


def current_user(request: HttpRequest) -> User:
    """The signed-in user (views are wrapped by `role_required`, so there is one)."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("sign in first")
    return user


def current_profile(request: HttpRequest) -> Profile:
    profile = profile_of(request.user)
    if profile is None:
        raise PermissionDenied("this account has no role or clearance on this node")
    return profile


def role_required(*roles: str) -> Callable[[View], View]:
    """Sign-in with both factors, a profile, and one of `roles` (any role when none given)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not fully_signed_in(request):
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = redirect_to_login(request.get_full_path()).url
                    return response
                return redirect_to_login(request.get_full_path())
            profile = current_profile(request)
            if roles and profile.role not in roles:
                # Refused here, before any service runs: audited like a service's refusal.
                reason = "your role does not include this page"
                record(
                    request.user,
                    "refused",
                    request.path[:200],
                    {"action": "page", "reason": reason},
                )
                raise PermissionDenied(reason)
            return view(request, *args, **kwargs)

        return cast(View, wrapped)

    return decorate


def has_role(request: HttpRequest, *roles: str) -> bool:
    profile = profile_of(request.user)
    return bool(profile and profile.role in roles)
