"""Second factor and lockout: TOTP enrolment and verification, failed sign-in counting.

TOTP follows RFC 6238 (SHA-1, 6 digits, 30 s steps) as every authenticator app does; a code is
accepted one step either side of now, and never twice (the accepted step is stored).
Lockout, per (account, client address): `LOCKOUT_THRESHOLD` failures (password or code) from
one address within `WINDOW_SECONDS` lock the account for that address for `LOCKOUT_SECONDS`, so
nobody can lock someone else out from their own address; `ACCOUNT_THRESHOLD` failures from all
addresses together lock it everywhere, so a guesser spread over many addresses is stopped too.
An attempt is counted before it is checked, in one transaction with the lock decision, in
PostgreSQL so that every web worker sees the same count.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from .models import ACCOUNT_WIDE, LoginThrottle, TOTPDevice

LOCKOUT_THRESHOLD = 5  # attempts from one client address within the window
ACCOUNT_THRESHOLD = 50  # attempts from all addresses together within the window
WINDOW_SECONDS = 15 * 60
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


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt counted by `admit`.

    `admitted`: the password or code may be checked; when False, `locked_until` is the end of
    the lock that refused it. When True, `locked_until` is set if counting this attempt locked
    the account (it is still checked: it was within the allowance), and `account_wide` says
    which lock refused or was set."""

    username: str
    address: str
    admitted: bool
    locked_until: datetime | None = None
    account_wide: bool = False
    set_locks: tuple[tuple[str, datetime], ...] = ()


def _rows_for_update(username: str, address: str) -> dict[str, LoginThrottle]:
    """The account's row for `address` and its account-wide row, created if missing and locked
    FOR UPDATE (always in the same order, so two attempts cannot deadlock)."""
    LoginThrottle.objects.bulk_create(
        [
            LoginThrottle(username=username, address=ACCOUNT_WIDE),
            LoginThrottle(username=username, address=address),
        ],
        ignore_conflicts=True,
    )
    rows = (
        LoginThrottle.objects.select_for_update()
        .filter(username=username, address__in=[ACCOUNT_WIDE, address])
        .order_by("address")
    )
    return {row.address: row for row in rows}


def _count(row: LoginThrottle, threshold: int, moment: datetime) -> datetime | None:
    """Count one attempt on an unlocked row; returns the lock's end if this one reached the
    threshold."""
    window = timedelta(seconds=WINDOW_SECONDS)
    if row.window_started_at is None or row.window_started_at + window <= moment:
        row.failures, row.window_started_at = 0, moment  # a fresh window (an expired lock too)
    row.locked_until = None
    row.failures += 1
    row.last_failure_at = moment
    if row.failures >= threshold:
        row.locked_until = moment + timedelta(seconds=LOCKOUT_SECONDS)
    row.save()
    return row.locked_until


def _address_key(address: str) -> str:
    cleaned = (address or "").strip()[:45]
    return cleaned if cleaned and cleaned != ACCOUNT_WIDE else "unknown"


@transaction.atomic
def admit(username: str, address: str, *, now: datetime | None = None) -> Attempt:
    """Decide whether a sign-in attempt for `username` from `address` may be checked, and count
    it as a failure in the same transaction (rows locked FOR UPDATE): N attempts in parallel
    get at most the allowance, whatever their timing. A success gives it back (`refund`).

    `LOCKOUT_THRESHOLD` attempts from one address lock the account for that address;
    `ACCOUNT_THRESHOLD` from all addresses together lock it for every address. Each lock lasts
    `LOCKOUT_SECONDS`; counts start again `WINDOW_SECONDS` after the window's first attempt."""
    moment = now or timezone.now()
    username, address = username[:150], _address_key(address)
    rows = _rows_for_update(username, address)
    account, own = rows[ACCOUNT_WIDE], rows[address]
    for row, wide in ((account, True), (own, False)):
        if row.locked_until is not None and row.locked_until > moment:
            return Attempt(username, address, False, row.locked_until, account_wide=wide)
    set_locks: list[tuple[str, datetime]] = []
    for row, threshold in ((account, ACCOUNT_THRESHOLD), (own, LOCKOUT_THRESHOLD)):
        lock = _count(row, threshold, moment)
        if lock is not None:
            set_locks.append((row.address, lock))
    until = max((lock for _, lock in set_locks), default=None)
    wide = any(a == ACCOUNT_WIDE for a, _ in set_locks)
    return Attempt(username, address, True, until, wide, tuple(set_locks))


@transaction.atomic
def refund(attempt: Attempt) -> None:
    """Give back an admitted attempt that succeeded: it is no failure, and a lock it set (it
    was the last one allowed) is lifted."""
    if not attempt.admitted:
        return
    set_by_it = dict(attempt.set_locks)
    rows = LoginThrottle.objects.select_for_update().filter(
        username=attempt.username, address__in=[ACCOUNT_WIDE, attempt.address]
    )
    for row in rows.order_by("address"):
        row.failures = max(0, row.failures - 1)
        if row.locked_until is not None and row.locked_until == set_by_it.get(row.address):
            row.locked_until = None
        row.save(update_fields=["failures", "locked_until"])


def current_lock(username: str, address: str, *, now: datetime | None = None) -> Attempt | None:
    """The lock that would refuse `username` from `address` now, without counting anything."""
    moment = now or timezone.now()
    address = _address_key(address)
    rows = LoginThrottle.objects.filter(
        username=username, address__in=[ACCOUNT_WIDE, address], locked_until__gt=moment
    ).order_by("address")
    row = rows.first()
    if row is None:
        return None
    return Attempt(username, address, False, row.locked_until, row.address == ACCOUNT_WIDE)


def locked_until(username: str, *, now: datetime | None = None) -> datetime | None:
    """When the latest lock on the username ends (from any address, or account-wide), or
    None if no lock is in force."""
    moment = now or timezone.now()
    rows = LoginThrottle.objects.filter(username=username, locked_until__gt=moment)
    return rows.aggregate(until=Max("locked_until"))["until"]


def failures_of(username: str, address: str | None = None) -> int:
    """Failures counted for the username from `address`, or across all addresses."""
    row = LoginThrottle.objects.filter(
        username=username, address=ACCOUNT_WIDE if address is None else _address_key(address)
    ).first()
    return row.failures if row else 0


@transaction.atomic
def clear_failures(username: str, address: str) -> None:
    """After a full sign-in from `address`: that address starts afresh, and its failures (the
    account holder's own) leave the account-wide count; other addresses' failures stay in it."""
    rows = _rows_for_update(username[:150], _address_key(address))
    account, own = rows.pop(ACCOUNT_WIDE), next(iter(rows.values()))
    account.failures = max(0, account.failures - own.failures)
    account.save(update_fields=["failures"])
    own.delete()


@transaction.atomic
def unlock(username: str) -> int:
    """Lift every lock on the username and forget its failures; returns how many rows were
    locked."""
    rows = LoginThrottle.objects.filter(username=username)
    locked = rows.filter(locked_until__gt=timezone.now()).count()
    rows.delete()
    return locked


def locked_accounts(*, now: datetime | None = None) -> list[LoginThrottle]:
    """The locks in force, latest-ending first."""
    moment = now or timezone.now()
    return list(
        LoginThrottle.objects.filter(locked_until__gt=moment).order_by("-locked_until", "username")
    )


def stale_throttles(moment: datetime) -> QuerySet[LoginThrottle]:
    """The rows that no longer decide anything: no lock in force and no attempt within the
    window (the next attempt would start a fresh count anyway)."""
    return LoginThrottle.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=moment),
        Q(last_failure_at__isnull=True)
        | Q(last_failure_at__lte=moment - timedelta(seconds=WINDOW_SECONDS)),
    )


@transaction.atomic
def prune_throttles(*, now: datetime | None = None) -> int:
    """Delete the rows that no longer decide anything (`stale_throttles`). Returns how many."""
    deleted, _ = stale_throttles(now or timezone.now()).delete()
    return deleted
