from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from core.markings import Classification

from .models import Profile, Role


@transaction.atomic
def create_user(
    *,
    username: str,
    password: str | None,
    role: str = Role.ANALYST,
    clearance: Classification = Classification.OFFICIAL,
    is_staff: bool = False,
) -> User:
    """A node account. `is_staff` opens the read-only admin to a trust administrator; it never
    makes a superuser, whose flag would let Django's permission checks skip the profile."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(Role.values)}")
    user = User.objects.create_user(username=username, password=password, is_staff=is_staff)
    Profile.objects.create(user=user, role=role, clearance=int(clearance))
    return user
