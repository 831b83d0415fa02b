"""Fixtures for the officer back office: officers of each role, signed-in clients, cases."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from eta import applications
from eta.accounts import sessions as staff_sessions
from eta.accounts.passwords import hash_password
from eta.extensions import db
from eta.models import Application, Officer, ScreeningHit, ScreeningRun
from eta.timeutil import utcnow
from tests.factories import submitted_application

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Staff:
    """An officer account as a test knows it: id, email, role and TOTP secret."""

    id: int
    email: str
    role: str
    secret: str


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token from a form on `path`."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def code_for(secret: str) -> str:
    """The current TOTP code."""
    return pyotp.TOTP(secret).now()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2id hash of the test password (hashing costs ~0.4 s, so it is done once)."""
    return hash_password(PASSWORD)


@pytest.fixture
def make_officer(app: Flask, password_hash: str) -> Callable[..., Staff]:
    """Create an officer with the test password; returns what a test needs to sign in."""

    def make(role: str = "officer", email: str | None = None) -> Staff:
        with app.app_context():
            officer = Officer(
                email=email or f"{role}-{time.monotonic_ns()}@border.test",
                password_hash=password_hash,
                totp_secret=pyotp.random_base32(),
                role=role,
            )
            db.session.add(officer)
            db.session.commit()
            return Staff(officer.id, officer.email, role, officer.totp_secret)

    return make


def session_for(app: Flask, client: FlaskClient, staff: Staff) -> FlaskClient:
    """Give `client` the session a sign-in would have given `staff` (for tests of other pages)."""
    with app.app_context():
        officer = db.session.get(Officer, staff.id)
        assert officer is not None
        token, _row = staff_sessions.open_session(db.session, officer, now=utcnow())
        db.session.commit()
    with client.session_transaction() as session:
        session.clear()
        session["_user_id"] = token
        session["_fresh"] = True
    return client


def sign_in(app: Flask, client: FlaskClient, staff: Staff) -> FlaskClient:
    """Sign `client` in as `staff` (password then TOTP); the last used step is reset first."""
    with app.app_context():
        officer = db.session.get(Officer, staff.id)
        assert officer is not None
        officer.last_totp_step = None
        db.session.commit()
    token = csrf_token(client, "/officer/sign-in")
    response = client.post(
        "/officer/sign-in",
        data={"csrf_token": token, "email": staff.email, "password": PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    token = csrf_token(client, "/officer/sign-in/code")
    response = client.post(
        "/officer/sign-in/code", data={"csrf_token": token, "code": code_for(staff.secret)}
    )
    assert response.status_code == 302 and response.location.endswith("/officer/")
    return client


@pytest.fixture
def signed_in(
    app: Flask, make_officer: Callable[..., Staff]
) -> Callable[..., tuple[FlaskClient, Staff]]:
    """A new client signed in as a new officer of `role`."""

    def make(role: str = "officer") -> tuple[FlaskClient, Staff]:
        staff = make_officer(role)
        return session_for(app, app.test_client(), staff), staff

    return make


def referred_case(session: Any, **overrides: Any) -> Application:
    """A referred application with one watchlist-style hit explained in words."""
    hours = overrides.pop("deadline_hours", 48)
    application = submitted_application(session, **overrides)
    applications.start_screening(session, application)
    run = ScreeningRun(
        application_id=application.id,
        algorithm_version="test-1",
        outcome="hit",
        finished_at=utcnow(),
    )
    session.add(run)
    session.flush()
    session.add(
        ScreeningHit(
            run_id=run.id,
            check_name="answers",
            code="criminal_conviction",
            score=None,
            explanation="The applicant declared a criminal conviction: theft, 2009.",
        )
    )
    applications.refer(session, application, deadline=utcnow() + dt.timedelta(hours=hours))
    return application


@pytest.fixture
def make_case(app: Flask) -> Callable[..., int]:
    """Create a referred case; returns its id."""

    def make(**overrides: Any) -> int:
        with app.app_context():
            return referred_case(db.session, **overrides).id

    return make
