"""Second factor and lockout: TOTP enrolment and verification, failed sign-in counting.

TOTP follows RFC 6238 (SHA-1, 6 digits, 30 s steps) as every authenticator app does; a code is
accepted one step either side of now, and never twice (the accepted step is stored).
Lockout: `LOCKOUT_THRESHOLD` failures (password or code) lock the username for
`LOCKOUT_SECONDS`, counted in PostgreSQL so that every web worker sees the same count.
"""

from __future__ import annotations

import hmac
import time
from datetime import datetime, timedelta

import pyotp
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from .models import LoginThrottle, TOTPDevice

LOCKOUT_THRESHOLD = 5
LOCKOUT_SECONDS = 15 * 60
TOTP_STEP_S = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1


def device_of(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user).first()


def has_confirmed_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def start_enrolment(user: User) -> TOTPDevice:
    """A fresh secret for a user without a confirmed device (an unconfirmed one is kept, so a
    reload of the enrolment page shows the same secret)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user).first()
    if device is not None and device.confirmed:
        raise ValueError("this account already has a confirmed authenticator")
    if device is None:
        device = TOTPDevice.objects.create(user=user, secret=pyotp.random_base32(32))
    return device


def provisioning_uri(device: TOTPDevice, issuer: str) -> str:
    return pyotp.TOTP(device.secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S).provisioning_uri(
        name=device.user.get_username(), issuer_name=issuer
    )


def _matching_step(secret: str, code: str, now: float) -> int | None:
    cleaned = "".join(ch for ch in code if not ch.isspace())
    if len(cleaned) != TOTP_DIGITS or not cleaned.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S)
    current = int(now) // TOTP_STEP_S
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), cleaned):
            return step
    return None


@transaction.atomic
def verify_code(user: User, code: str, *, now: float | None = None) -> bool:
    """True when `code` is valid for the user's device and was not used before.

    Works for a device being enrolled too, and confirms it on the first good code."""
    device = TOTPDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        return False
    step = _matching_step(device.secret, code, time.time() if now is None else now)
    if step is None or step <= device.last_step:
        return False
    device.last_step = step
    if not device.confirmed:
        device.confirmed = True
        device.confirmed_at = timezone.now()
    device.save(update_fields=["last_step", "confirmed", "confirmed_at"])
    return True


@transaction.atomic
def reset_device(user: User) -> None:
    """Remove a user's authenticator; they enrol again at their next sign-in."""
    TOTPDevice.objects.filter(user=user).delete()


def locked_until(username: str, *, now: datetime | None = None) -> datetime | None:
    """When the username's lock ends, or None if it is not locked."""
    moment = now or timezone.now()
    row = LoginThrottle.objects.filter(username=username).first()
    if row is None or row.locked_until is None or row.locked_until <= moment:
        return None
    return row.locked_until


@transaction.atomic
def register_failure(username: str, *, now: datetime | None = None) -> datetime | None:
    """Count one failed sign-in; returns the lock's end if this failure locked the username."""
    moment = now or timezone.now()
    row, _ = LoginThrottle.objects.select_for_update().get_or_create(username=username[:150])
    if row.locked_until is not None and row.locked_until <= moment:
        row.failures, row.locked_until = 0, None  # an expired lock starts a fresh count
    row.failures += 1
    row.last_failure_at = moment
    if row.failures >= LOCKOUT_THRESHOLD and row.locked_until is None:
        row.locked_until = moment + timedelta(seconds=LOCKOUT_SECONDS)
        row.failures = 0
    row.save()
    return row.locked_until


def failures_of(username: str) -> int:
    row = LoginThrottle.objects.filter(username=username).first()
    return row.failures if row else 0


@transaction.atomic
def clear_failures(username: str) -> None:
    LoginThrottle.objects.filter(username=username).update(failures=0, locked_until=None)
