"""Sign-in lockout per (account, client address) with an account-wide ceiling, counted before
the password is checked so parallel attempts cannot outrun it, pruned by beat; unlock and
second-factor reset in the trust console, through the same audited services as the command."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import second_factor
from accounts.models import ACCOUNT_WIDE, LoginThrottle, Role, TOTPDevice
from audit.models import AuditEntry
from web import services

from .conftest import PASSWORD, html, signed_in

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.20"


def attempt(username: str, password: str, address: str, client: Client | None = None) -> Any:
    browser = client or Client(REMOTE_ADDR=address)
    return browser.post("/login/", {"username": username, "password": password})


def password_checks(username: str) -> int:
    """Passwords actually evaluated and found wrong (the hook audits each one)."""
    return AuditEntry.objects.filter(
        action="auth.sign_in_failed", target=username, details__stage="password"
    ).count()


# --------------------------------------------------------------------------------------------
# Keyed on (account, address), with an account-wide ceiling
# --------------------------------------------------------------------------------------------


def test_five_failures_lock_the_account_for_that_address_only(make_web_user: Any) -> None:
    user = make_web_user()
    for _ in range(4):
        assert attempt(user.username, "wrong", ATTACKER).status_code == 401
    fifth = attempt(user.username, "wrong", ATTACKER)
    assert fifth.status_code == 403
    assert "for sign-ins from your address" in html(fifth)
    # the attacker's address stays locked, even with the right password...
    assert attempt(user.username, PASSWORD, ATTACKER).status_code == 403
    refused = AuditEntry.objects.get(action="auth.sign_in_refused")
    expected = {"reason": "locked", "scope": "address", "stage": "password", "ip": ATTACKER}
    assert refused.details == expected
    # ...but the owner, elsewhere, signs in as usual
    assert attempt(user.username, PASSWORD, OWNER)["Location"] == "/login/verify/"
    row = LoginThrottle.objects.get(username=user.username, address=ATTACKER)
    assert row.locked_until is not None
    assert timedelta(minutes=14) < row.locked_until - timezone.now() <= timedelta(minutes=15)
    assert second_factor.current_lock(user.username, OWNER) is None


def test_many_addresses_together_meet_the_account_wide_ceiling(make_web_user: Any) -> None:
    user = make_web_user()
    per_address = second_factor.LOCKOUT_THRESHOLD - 1  # each stays under its own limit
    statuses = [
        attempt(user.username, "wrong", f"192.0.2.{1 + n // per_address}").status_code
        for n in range(second_factor.ACCOUNT_THRESHOLD)
    ]
    assert statuses == [401] * (second_factor.ACCOUNT_THRESHOLD - 1) + [403]
    # now every address is refused, the owner's too, without the password being checked
    checked = password_checks(user.username)
    locked = attempt(user.username, PASSWORD, OWNER)
    assert locked.status_code == 403
    assert "this account is locked until" in html(locked)
    assert "from your address" not in html(locked)
    assert password_checks(user.username) == checked == second_factor.ACCOUNT_THRESHOLD
    assert AuditEntry.objects.get(action="auth.sign_in_refused").details["scope"] == "account"


def test_a_right_password_is_given_back_and_never_locks(make_web_user: Any) -> None:
    user = make_web_user()
    for _ in range(second_factor.LOCKOUT_THRESHOLD - 1):
        attempt(user.username, "wrong", OWNER)
    # the fifth attempt is counted before the check, but it was right: it is given back
    assert attempt(user.username, PASSWORD, OWNER)["Location"] == "/login/verify/"
    assert second_factor.current_lock(user.username, OWNER) is None
    assert second_factor.failures_of(user.username, OWNER) == second_factor.LOCKOUT_THRESHOLD - 1


def test_a_success_from_one_address_leaves_other_addresses_counts(make_web_user: Any) -> None:
    user = make_web_user()
    for _ in range(3):
        attempt(user.username, "wrong", ATTACKER)
    second_factor.admit(user.username, OWNER)  # one wrong code from the owner's address, say
    second_factor.clear_failures(user.username, OWNER)  # then the owner signs in fully
    assert second_factor.failures_of(user.username, OWNER) == 0
    assert second_factor.failures_of(user.username, ATTACKER) == 3
    assert second_factor.failures_of(user.username) == 3


def test_a_new_window_starts_a_fresh_count(make_web_user: Any) -> None:
    user = make_web_user()
    start = timezone.now()
    for _ in range(4):
        second_factor.admit(user.username, ATTACKER, now=start)
    later = start + timedelta(seconds=second_factor.WINDOW_SECONDS)
    counted = second_factor.admit(user.username, ATTACKER, now=later)
    assert counted.admitted
    assert counted.locked_until is None
    assert second_factor.failures_of(user.username, ATTACKER) == 1


def test_the_proxy_header_is_believed_only_from_a_trusted_proxy(
    make_web_user: Any, settings: Any
) -> None:
    """Behind nginx (TRUSTED_PROXIES) the lock is on the client nginx names, not on nginx; from
    anyone else X-Forwarded-For changes nothing, so it cannot dodge the lock."""
    user = make_web_user()
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    for n in range(second_factor.LOCKOUT_THRESHOLD):
        Client(REMOTE_ADDR=ATTACKER).post(
            "/login/",
            {"username": user.username, "password": "wrong"},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
    assert second_factor.current_lock(user.username, ATTACKER) is not None
    proxied = Client(REMOTE_ADDR="10.0.0.1")
    forwarded = {"X-Forwarded-For": OWNER}
    ok = proxied.post(
        "/login/", {"username": user.username, "password": PASSWORD}, headers=forwarded
    )
    assert ok["Location"] == "/login/verify/"
    blocked = proxied.post(
        "/login/",
        {"username": user.username, "password": PASSWORD},
        headers={"X-Forwarded-For": ATTACKER},
    )
    assert blocked.status_code == 403


# --------------------------------------------------------------------------------------------
# Race-free: real threads, real PostgreSQL
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_never_get_more_than_the_allowance(
    make_web_user: Any, settings: Any
) -> None:
    """20 wrong passwords at once from one address (Argon2, so each check takes a while): the
    count is taken with the lock decision before any check, so exactly five are checked."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    user = make_web_user()
    assert user.password.startswith("argon2")
    parallel = 20
    start = threading.Barrier(parallel)
    statuses: list[int] = []
    checked: list[str] = []

    def on_failed(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        checked.append(str(credentials.get("username")))

    def guess() -> None:
        try:
            browser = Client(REMOTE_ADDR=ATTACKER)
            start.wait(timeout=30)
            statuses.append(attempt(user.username, "wrong", ATTACKER, browser).status_code)
        finally:
            connection.close()

    user_login_failed.connect(on_failed, dispatch_uid="test-parallel-guesses")
    try:
        threads = [threading.Thread(target=guess) for _ in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        user_login_failed.disconnect(dispatch_uid="test-parallel-guesses")
    assert len(statuses) == parallel
    assert len(checked) == second_factor.LOCKOUT_THRESHOLD
    assert password_checks(user.username) == second_factor.LOCKOUT_THRESHOLD
    assert sorted(statuses) == [401] * 4 + [403] * 16
    row = LoginThrottle.objects.get(username=user.username, address=ATTACKER)
    assert row.failures == second_factor.LOCKOUT_THRESHOLD
    assert row.locked_until is not None


@pytest.mark.django_db(transaction=True)
def test_parallel_attempts_from_many_addresses_stop_at_the_ceiling(make_web_user: Any) -> None:
    """The account-wide row is counted in the same transaction: 80 attempts at once from 40
    addresses (two each, under the per-address limit) get exactly 50 checks."""
    user = make_web_user()
    parallel = 80
    start = threading.Barrier(parallel)
    admitted: list[bool] = []

    def guess(n: int) -> None:
        try:
            start.wait(timeout=30)
            admitted.append(second_factor.admit(user.username, f"192.0.2.{n // 2}").admitted)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(admitted) == parallel
    assert admitted.count(True) == second_factor.ACCOUNT_THRESHOLD
    assert second_factor.failures_of(user.username) == second_factor.ACCOUNT_THRESHOLD


# --------------------------------------------------------------------------------------------
# Pruned
# --------------------------------------------------------------------------------------------


def test_prune_deletes_only_rows_that_decide_nothing(db: Any) -> None:
    now = timezone.now()
    window = timedelta(seconds=second_factor.WINDOW_SECONDS)
    old, recent = now - window - timedelta(seconds=1), now - timedelta(minutes=1)
    rows = {
        "expired-lock-old-failure": (now - timedelta(seconds=1), old),
        "no-lock-old-failure": (None, old),
        "never-failed": (None, None),
        "lock-in-force": (now + timedelta(minutes=5), old),
        "recent-failure": (None, recent),
        "expired-lock-recent-failure": (now - timedelta(seconds=1), recent),
    }
    for name, (until, last) in rows.items():
        LoginThrottle.objects.create(
            username=name, address=ATTACKER, failures=3, locked_until=until, last_failure_at=last
        )
    assert second_factor.prune_throttles(now=now) == 3
    kept = set(LoginThrottle.objects.values_list("username", flat=True))
    assert kept == {"lock-in-force", "recent-failure", "expired-lock-recent-failure"}


def test_beat_prunes_through_a_thin_task(db: Any) -> None:
    from accounts.tasks import prune_sign_in_throttles

    entry = next(
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "accounts.tasks.prune_sign_in_throttles"
    )
    assert float(str(entry["schedule"])) <= second_factor.WINDOW_SECONDS
    LoginThrottle.objects.create(username="gone", address=ATTACKER, failures=1)
    assert prune_sign_in_throttles.apply().get() == 1
    assert not LoginThrottle.objects.exists()


# --------------------------------------------------------------------------------------------
# Unlock and second-factor reset: trust console and command line, one pair of services
# --------------------------------------------------------------------------------------------


def lock_out(username: str, address: str = ATTACKER) -> None:
    for _ in range(second_factor.LOCKOUT_THRESHOLD):
        attempt(username, "wrong", address)
    assert second_factor.current_lock(username, address) is not None


def test_a_trust_admin_sees_the_locks_and_unlocks_from_the_console(make_web_user: Any) -> None:
    admin = make_web_user(Role.TRUST_ADMIN)
    victim = make_web_user()
    lock_out(victim.username)
    console = signed_in(admin)
    page = console.get("/trust/sign-ins/")
    assert page.status_code == 200
    text = html(page)
    assert victim.username in text
    assert ATTACKER in text
    assert 'href="/trust/sign-ins/"' in html(console.get("/trust/keys/"))  # in the navigation
    done = console.post("/trust/sign-ins/unlock/", {"username": victim.username})
    assert done.status_code == 302
    assert done["Location"] == "/trust/sign-ins/"
    entry = AuditEntry.objects.get(action="auth.unlock")
    assert (entry.actor, entry.actor_id, entry.target) == (
        admin.username,
        admin.pk,
        victim.username,
    )
    assert entry.details == {"locks_lifted": 1}
    assert attempt(victim.username, PASSWORD, ATTACKER)["Location"] == "/login/verify/"
    assert "No account is locked." in html(console.get("/trust/sign-ins/"))


def test_a_trust_admin_resets_a_second_factor_from_the_console(make_web_user: Any) -> None:
    admin = make_web_user(Role.TRUST_ADMIN)
    victim = make_web_user()
    console = signed_in(admin)
    done = console.post("/trust/sign-ins/reset-second-factor/", {"username": victim.username})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=victim).exists()
    entry = AuditEntry.objects.get(action="auth.totp_reset")
    assert (entry.actor, entry.target) == (admin.username, victim.username)
    assert attempt(victim.username, PASSWORD, OWNER)["Location"] == "/login/enrol/"
    missing = console.post(
        "/trust/sign-ins/reset-second-factor/", {"username": "nobody"}, follow=True
    )
    assert "no user &#x27;nobody&#x27;" in html(missing)
    assert AuditEntry.objects.filter(action="auth.totp_reset").count() == 1


@pytest.mark.parametrize(
    ("path", "action"),
    [("/trust/sign-ins/unlock/", "unlock"), ("/trust/sign-ins/reset-second-factor/", "reset")],
)
def test_an_analyst_is_refused_and_the_refusal_audited(
    make_web_user: Any, path: str, action: str
) -> None:
    analyst = make_web_user(Role.ANALYST)
    victim = make_web_user()
    lock_out(victim.username)
    client = signed_in(analyst)
    assert client.get("/trust/sign-ins/").status_code == 403
    assert client.post(path, {"username": victim.username}).status_code == 403
    refused = AuditEntry.objects.filter(action="refused", actor_id=analyst.pk)
    assert refused.count() == 2
    assert second_factor.current_lock(victim.username, ATTACKER) is not None
    assert TOTPDevice.objects.filter(user=victim).exists()
    assert not AuditEntry.objects.filter(action__in=["auth.unlock", "auth.totp_reset"]).exists()


@pytest.mark.parametrize(
    ("service", "action"),
    [(services.unlock_sign_in, "auth.unlock"), (services.reset_second_factor, "auth.totp_reset")],
)
def test_the_services_refuse_anyone_but_a_trust_admin(
    make_web_user: Any, service: Any, action: str
) -> None:
    """Whatever door calls them: the role is checked in the service, and its refusal audited."""
    victim = make_web_user()
    lock_out(victim.username)
    for role in (Role.ANALYST, Role.RELEASER, Role.AUDITOR):
        other = make_web_user(role)
        with pytest.raises(PermissionDenied):
            service(user=other, username=victim.username)
        entry = AuditEntry.objects.filter(action="refused", actor_id=other.pk).get()
        assert entry.target == victim.username
        assert entry.details["action"] == action
    assert second_factor.current_lock(victim.username, ATTACKER) is not None
    assert TOTPDevice.objects.filter(user=victim).exists()


def test_the_command_and_the_console_write_the_same_entries(make_web_user: Any) -> None:
    admin = make_web_user(Role.TRUST_ADMIN)
    first, second = make_web_user(), make_web_user()
    lock_out(first.username)
    lock_out(second.username)
    call_command("reset_sign_in", first.username, "--totp", "--unlock", "--by", "helpdesk-1")
    console = signed_in(admin)
    console.post("/trust/sign-ins/reset-second-factor/", {"username": second.username})
    console.post("/trust/sign-ins/unlock/", {"username": second.username})
    entries = AuditEntry.objects.filter(action__in=["auth.unlock", "auth.totp_reset"])
    by_target: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    actors: dict[str, set[str]] = {}
    for entry in entries.order_by("seq"):
        by_target.setdefault(entry.target, []).append((entry.action, entry.details))
        actors.setdefault(entry.target, set()).add(entry.actor)
    assert by_target[first.username] == by_target[second.username]
    assert by_target[first.username] == [
        ("auth.totp_reset", {"had_authenticator": True}),
        ("auth.unlock", {"locks_lifted": 1}),
    ]
    assert actors == {first.username: {"cli:helpdesk-1"}, second.username: {admin.username}}
    for user in (first, second):
        assert attempt(user.username, PASSWORD, ATTACKER)["Location"] == "/login/enrol/"


def test_the_console_forms_need_the_csrf_token(make_web_user: Any) -> None:
    admin = make_web_user(Role.TRUST_ADMIN)
    victim = make_web_user()
    lock_out(victim.username)
    console = signed_in(admin)
    page = html(console.get("/trust/sign-ins/"))
    assert page.count('name="csrfmiddlewaretoken"') >= 3
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = console.cookies
    refused = strict.post("/trust/sign-ins/unlock/", {"username": victim.username})
    assert refused.status_code == 403
    assert second_factor.current_lock(victim.username, ATTACKER) is not None


def test_the_account_wide_row_is_shown_as_every_address(make_web_user: Any) -> None:
    admin = make_web_user(Role.TRUST_ADMIN)
    LoginThrottle.objects.create(
        username="spread-out",
        address=ACCOUNT_WIDE,
        failures=50,
        locked_until=timezone.now() + timedelta(minutes=10),
    )
    assert "every address" in html(signed_in(admin).get("/trust/sign-ins/"))
