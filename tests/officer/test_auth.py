"""Officer sign-in: password + one-time TOTP, lock-out, new session, timeouts, sign-out."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from eta import models
from eta.extensions import db
from eta.models import AuditEvent, Officer
from eta.officer.auth import accepted_step
from tests.officer.conftest import PASSWORD, Staff, code_for, csrf_token, sign_in


def _password_step(client: FlaskClient, staff: Staff, password: str = PASSWORD) -> TestResponse:
    token = csrf_token(client, "/officer/sign-in")
    return client.post(
        "/officer/sign-in", data={"csrf_token": token, "email": staff.email, "password": password}
    )


def test_sign_in_with_password_and_code_reaches_the_queue(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    staff = make_officer()
    client = app.test_client()
    assert client.get("/officer/").status_code == 302
    sign_in(app, client, staff)
    page = client.get("/officer/")
    assert page.status_code == 200
    assert "Cases to decide" in page.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "officer.signed_in" in actions


def test_password_alone_does_not_sign_in(app: Flask, make_officer: Callable[..., Staff]) -> None:
    staff = make_officer()
    client = app.test_client()
    assert _password_step(client, staff).status_code == 302
    assert client.get("/officer/").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_message(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    staff = make_officer()
    client = app.test_client()
    wrong = _password_step(client, staff, "not the password at all")
    unknown = _password_step(client, Staff(0, "nobody@border.test", "officer", ""))
    assert wrong.status_code == unknown.status_code == 400
    assert "Enter a correct email address and password" in wrong.get_data(as_text=True)
    assert "Enter a correct email address and password" in unknown.get_data(as_text=True)


def test_a_code_cannot_be_used_twice(app: Flask, make_officer: Callable[..., Staff]) -> None:
    staff = make_officer()
    sign_in(app, app.test_client(), staff)
    with app.app_context():
        used = db.session.get(Officer, staff.id).last_totp_step  # type: ignore[union-attr]
    assert used is not None
    # The same code again, in another browser, within its 30 seconds: refused.
    client = app.test_client()
    assert _password_step(client, staff).status_code == 302
    token = csrf_token(client, "/officer/sign-in/code")
    code = pyotp.TOTP(staff.secret).at(used * 30)
    response = client.post("/officer/sign-in/code", data={"csrf_token": token, "code": code})
    assert response.status_code == 400
    assert client.get("/officer/").status_code == 302


def test_accepted_step_allows_one_step_of_drift_only() -> None:
    secret = pyotp.random_base32()
    now = 1_800_000_000.0
    step = int(now // 30)
    totp = pyotp.TOTP(secret)
    assert accepted_step(secret, totp.at(now), None, now) == step
    assert accepted_step(secret, totp.at(now - 30), None, now) == step - 1
    assert accepted_step(secret, totp.at(now - 90), None, now) is None
    assert accepted_step(secret, totp.at(now), step, now) is None
    assert accepted_step(secret, "12 34", None, now) is None


def test_repeated_failures_lock_the_account(app: Flask, make_officer: Callable[..., Staff]) -> None:
    staff = make_officer()
    client = app.test_client()
    failures = app.config["ETA_OFFICER_LOCKOUT_FAILURES"]
    for _ in range(failures):
        _password_step(client, staff, "wrong password!!")
    # Even the right password is refused while locked, with the message an unknown address
    # gets (issue 13, finding 7: the lock-out must not tell that the account exists).
    response = _password_step(client, staff)
    assert response.status_code == 400
    assert "Enter a correct email address and password" in response.get_data(as_text=True)
    assert "Too many failed attempts" not in response.get_data(as_text=True)
    assert client.get("/officer/sign-in/code").status_code == 302  # no code step
    with app.app_context():
        officer = db.session.get(Officer, staff.id)
        assert officer is not None and officer.locked_until is not None
        assert officer.failed_sign_ins == failures


def test_enrolment_shows_the_qr_until_the_first_code(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    staff = make_officer()
    client = app.test_client()
    _password_step(client, staff)
    page = client.get("/officer/sign-in/code").get_data(as_text=True)
    assert 'src="data:image/svg+xml;base64,' in page
    assert staff.secret in page
    token = csrf_token(client, "/officer/sign-in/code")
    client.post("/officer/sign-in/code", data={"csrf_token": token, "code": code_for(staff.secret)})
    other = app.test_client()
    _password_step(other, staff)
    assert staff.secret not in other.get("/officer/sign-in/code").get_data(as_text=True)


def test_sign_in_starts_a_new_session(app: Flask, make_officer: Callable[..., Staff]) -> None:
    staff = make_officer()
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(app, client, staff)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def _age_session(app: Flask, client: FlaskClient, **ago: dt.timedelta) -> None:
    """Move the server-side session of `client` back in time (created_at / seen_at)."""
    with client.session_transaction() as cookie:
        token = cookie["_user_id"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    with app.app_context():
        row = db.session.scalar(
            select(models.StaffSession).where(models.StaffSession.token_hash == digest)
        )
        assert row is not None
        for column, delta in ago.items():
            setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def test_idle_and_absolute_timeouts(app: Flask, make_officer: Callable[..., Staff]) -> None:
    staff = make_officer()
    idle = sign_in(app, app.test_client(), staff)
    _age_session(app, idle, seen_at=dt.timedelta(minutes=16))
    response = idle.get("/officer/")
    assert response.status_code == 302
    page = idle.get(response.location).get_data(as_text=True)
    assert "your session timed out" in page

    old = sign_in(app, app.test_client(), staff)
    _age_session(app, old, created_at=dt.timedelta(hours=8, seconds=1))
    assert old.get("/officer/").status_code == 302

    fresh = sign_in(app, app.test_client(), staff)
    assert fresh.get("/officer/").status_code == 200
    with app.app_context():
        reasons = db.session.scalars(
            select(models.StaffSession.end_reason).order_by(models.StaffSession.id)
        ).all()
    assert reasons == ["idle", "expired", None]


def test_a_copied_cookie_opens_nothing_after_sign_out(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    # Issue 13, finding 3: sign-out ended only the browser's copy of the session.
    staff = make_officer()
    browser = sign_in(app, app.test_client(), staff)
    copied = app.test_client()
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    copied.set_cookie(cookie.key, cookie.value)
    assert copied.get("/officer/").status_code == 200  # the copy works while signed in
    token = csrf_token(browser, "/officer/account")
    assert browser.post("/officer/sign-out", data={"csrf_token": token}).status_code == 302
    assert browser.get("/officer/").status_code == 302
    assert copied.get("/officer/").status_code == 302


def test_sign_out_everywhere_ends_other_sessions(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    staff = make_officer()
    laptop = sign_in(app, app.test_client(), staff)
    phone = sign_in(app, app.test_client(), staff)
    token = csrf_token(phone, "/officer/account")
    assert phone.post("/officer/sign-out-everywhere", data={"csrf_token": token}).status_code == 302
    assert laptop.get("/officer/").status_code == 302
    assert phone.get("/officer/").status_code == 302


def test_an_admin_ends_another_officers_sessions(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    staff = make_officer()
    admin = make_officer("admin")
    victim = sign_in(app, app.test_client(), staff)
    admin_client = sign_in(app, app.test_client(), admin)
    token = csrf_token(admin_client, "/officer/admin/officers")
    response = admin_client.post(
        f"/officer/admin/officers/{staff.id}/end-sessions", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert victim.get("/officer/").status_code == 302
    assert admin_client.get("/officer/").status_code == 200


def test_a_deactivated_officer_is_signed_out(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    staff = make_officer()
    client = sign_in(app, app.test_client(), staff)
    with app.app_context():
        officer = db.session.get(Officer, staff.id)
        assert officer is not None
        officer.active = False
        db.session.commit()
    assert client.get("/officer/").status_code == 302


def test_sign_in_attempts_are_limited_per_address_across_accounts(
    app: Flask, make_officer: Callable[..., Staff], monkeypatch
) -> None:
    # One password tried against many accounts never locks any of them: the address is
    # counted too, over both steps of the sign-in.
    monkeypatch.setitem(app.config, "ETA_OFFICER_SIGN_IN_RATE_LIMIT", "3/day")
    staff = make_officer()
    client = app.test_client()
    accounts = [Staff(0, f"guess{n}@border.test", "officer", "") for n in range(3)]
    assert [_password_step(client, who, "Summer2026!").status_code for who in accounts] == [
        400,
        400,
        400,
    ]
    assert _password_step(client, staff).status_code == 429
    with app.app_context():
        officer = db.session.get(Officer, staff.id)
        assert officer is not None and officer.failed_sign_ins == 0  # nobody's account locked
    # Another address is not held back by this one, and its code step counts in the same
    # allowance as its password step: 1 password + 2 codes, then 429.
    other = app.test_client()
    elsewhere = {"REMOTE_ADDR": "192.0.2.44"}
    token = csrf_token(other, "/officer/sign-in")
    allowed = other.post(
        "/officer/sign-in",
        data={"csrf_token": token, "email": staff.email, "password": PASSWORD},
        environ_overrides=elsewhere,
    )
    assert allowed.status_code == 302
    token = csrf_token(other, "/officer/sign-in/code")
    codes = [
        other.post(
            "/officer/sign-in/code",
            data={"csrf_token": token, "code": "000000"},
            environ_overrides=elsewhere,
        ).status_code
        for _ in range(3)
    ]
    assert codes == [400, 400, 429]
