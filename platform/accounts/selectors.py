from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from core.markings import Classification

from .models import Profile, Role


def profile_of(user: AbstractBaseUser | AnonymousUser) -> Profile | None:
    if not isinstance(user, User):
        return None
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def clearance_of(user: AbstractBaseUser | AnonymousUser) -> Classification | None:
    """A user without a profile has no clearance and sees nothing."""
    profile = profile_of(user)
    return Classification(profile.clearance) if profile else None


AUTHOR_ROLES = (Role.ANALYST, Role.RELEASER)
"""Who writes reports and changes cases; auditors and trust administrators only read them."""


def may_author(user: AbstractBaseUser | AnonymousUser) -> bool:
    profile = profile_of(user)
    return bool(profile and profile.role in AUTHOR_ROLES)


def may_publish(user: AbstractBaseUser | AnonymousUser) -> bool:
    profile = profile_of(user)
    return bool(profile and profile.role == Role.RELEASER)
