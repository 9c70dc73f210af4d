"""Sign-in: password (Argon2), then TOTP (enrolment with a server-rendered QR code on first
sign-in), lockout after repeated failures counted in PostgreSQL, every attempt audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.contrib.auth.hashers import get_hasher
from django.test import Client
from django.utils import timezone

from accounts import second_factor
from accounts.models import LoginThrottle, TOTPDevice
from audit.models import AuditEntry

from .conftest import PASSWORD, html

REAL_HASHER = True  # these tests run with the configured hashers (Argon2 first)


def code_for(user: Any, offset_steps: int = 0) -> str:
    device = TOTPDevice.objects.get(user=user)
    return pyotp.TOTP(device.secret).at(timezone.now().timestamp() + 30 * offset_steps)


def password_step(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login/", {"username": username, "password": password})


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


def test_passwords_are_hashed_with_argon2(make_web_user: Any) -> None:
    user = make_web_user()
    assert get_hasher().algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")


def test_first_sign_in_enrols_an_authenticator_with_a_qr_code(make_web_user: Any) -> None:
    user = make_web_user(enrolled=False)
    client = Client()
    response = password_step(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == "/login/enrol/"
    page = client.get("/login/enrol/")
    text = html(page)
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    assert "<svg" in text
    assert "QR code of your authenticator secret" in text
    assert device.secret[:4] in text  # the secret, grouped by four, for typing it in
    assert client.get("/reports/").status_code == 302  # not signed in before the code
    done = client.post("/login/enrol/", {"code": code_for(user)})
    assert done.status_code == 302
    assert client.get("/reports/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert actions()[-2:] == ["auth.totp_enrolled", "auth.sign_in"]
    assert AuditEntry.objects.get(action="auth.sign_in").details["totp"] is True


def test_sign_in_needs_the_current_code_and_refuses_a_replayed_one(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    assert password_step(client, user.username)["Location"] == "/login/verify/"
    wrong = client.post(
        "/login/verify/", {"code": "000000" if code_for(user) != "000000" else "111111"}
    )
    assert wrong.status_code == 401
    assert "That code is not right" in html(wrong)
    assert client.get("/reports/").status_code == 302
    code = code_for(user)
    assert client.post("/login/verify/", {"code": code}).status_code == 302
    assert client.get("/reports/").status_code == 200
    # the same code again, in another browser, is refused (its time step was used)
    other = Client()
    password_step(other, user.username)
    again = other.post("/login/verify/", {"code": code})
    assert again.status_code == 401
    assert "auth.sign_in_failed" in actions()


def test_a_code_one_step_old_is_still_accepted(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    password_step(client, user.username)
    assert client.post("/login/verify/", {"code": code_for(user, -1)}).status_code == 302


def test_password_alone_signs_nobody_in(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    password_step(client, user.username)
    assert client.get("/reports/")["Location"].startswith("/login/")
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_wrong_password_is_refused_and_audited(make_web_user: Any) -> None:
    user = make_web_user()
    response = password_step(Client(), user.username, "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in html(response)
    entry = AuditEntry.objects.get(action="auth.sign_in_failed")
    assert entry.target == user.username
    assert entry.details["stage"] == "password"


def test_five_failures_lock_the_username_for_fifteen_minutes(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    for _ in range(4):
        assert password_step(client, user.username, "wrong").status_code == 401
    fifth = password_step(client, user.username, "wrong")
    assert fifth.status_code == 403
    assert "locked until" in html(fifth)
    # even the right password is refused while locked, and the refusal is audited
    locked = password_step(client, user.username)
    assert locked.status_code == 403
    assert "Too many failed sign-ins" in html(locked)
    assert "auth.sign_in_refused" in actions()
    row = LoginThrottle.objects.get(username=user.username, address="127.0.0.1")
    assert row.locked_until is not None
    remaining = row.locked_until - timezone.now()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)
    # once the lock has expired, the right password works again
    LoginThrottle.objects.filter(pk=row.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert password_step(client, user.username)["Location"] == "/login/verify/"


def test_wrong_codes_count_towards_the_lock(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    for attempt in range(5):
        password_step(client, user.username)
        response = client.post("/login/verify/", {"code": "12345x"})
        if attempt < 4:
            assert response.status_code == 401
    assert response.status_code == 403
    assert "locked until" in html(response)
    assert second_factor.locked_until(user.username) is not None


def test_lockout_is_per_username(make_web_user: Any) -> None:
    victim = make_web_user()
    other = make_web_user()
    for _ in range(5):
        password_step(Client(), victim.username, "wrong")
    assert password_step(Client(), other.username)["Location"] == "/login/verify/"


def test_successful_sign_in_clears_the_failure_count(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    for _ in range(3):
        password_step(client, user.username, "wrong")
    password_step(client, user.username)
    client.post("/login/verify/", {"code": code_for(user)})
    assert second_factor.failures_of(user.username, "127.0.0.1") == 0
    assert second_factor.failures_of(user.username) == 0  # account-wide too: they were its own


def test_sign_out_needs_post_and_ends_the_session(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    password_step(client, user.username)
    client.post("/login/verify/", {"code": code_for(user)})
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/reports/").status_code == 302
    assert "auth.sign_out" in actions()


def test_the_admin_signs_in_through_the_second_factor(db: Any) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2F"


@pytest.mark.parametrize(
    "url", ["/cases/", "/cases/1/", "/reports/", "/charts/", "/trust/partners/", "/audit/"]
)
def test_pages_send_strangers_to_sign_in(db: Any, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    htmx = Client().get(url, headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx["HX-Redirect"].startswith("/login/")


def test_open_redirects_are_refused(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    client.post(
        "/login/?next=https://elsewhere.invalid/", {"username": user.username, "password": PASSWORD}
    )
    done = client.post("/login/verify/", {"code": code_for(user)})
    assert done["Location"] == "/"


def test_a_failed_password_keeps_where_the_user_was_going(make_web_user: Any) -> None:
    user = make_web_user()
    client = Client()
    wrong = client.post(
        "/login/?next=/charts/", {"username": user.username, "password": "wrong", "next": ""}
    )
    assert 'name="next" value="/charts/"' in html(wrong)
    client.post("/login/", {"username": user.username, "password": PASSWORD, "next": "/charts/"})
    done = client.post("/login/verify/", {"code": code_for(user)})
    assert done["Location"] == "/charts/"


def test_an_account_without_a_role_cannot_sign_in(db: Any) -> None:
    from django.contrib.auth.models import User

    User.objects.create_user(username="norole", password=PASSWORD)
    response = password_step(Client(), "norole")
    assert response.status_code == 403
    assert "no role on this node" in html(response)


def test_the_help_desk_resets_an_authenticator_and_lifts_a_lock(make_web_user: Any) -> None:
    from django.core.management import call_command

    user = make_web_user()
    for _ in range(5):
        password_step(Client(), user.username, "wrong")
    call_command("reset_sign_in", user.username, "--totp", "--unlock", "--by", "helpdesk-1")
    assert second_factor.locked_until(user.username) is None
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert password_step(Client(), user.username)["Location"] == "/login/enrol/"
    assert {"auth.totp_reset", "auth.unlock"} <= set(actions())
