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
    is_superuser: bool = False,
) -> User:
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(Role.values)}")
    user = User.objects.create_user(
        username=username, password=password, is_staff=is_staff, is_superuser=is_superuser
    )
    Profile.objects.create(user=user, role=role, clearance=int(clearance))
    return user
