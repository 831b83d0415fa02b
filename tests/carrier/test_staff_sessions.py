"""Issue 13, finding 3, at the carrier desk: sessions end on the server, with time limits.

The desk's session was a signed cookie, permanent for 8 hours with no idle limit, and sign-out
only dropped the browser's copy. Now the cookie names a server-side session that sign-out,
"sign out everywhere" and the limits end.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta import models
from eta.accounts import create_carrier
from eta.accounts.passwords import hash_password
from eta.extensions import db
from eta.models import AuditEvent, CarrierUser

EMAIL = "desk@nordic.example"
PASSWORD = "correct horse battery"


@pytest.fixture
def desk_user(app: Flask) -> int:
    """A check-in staff member of a new carrier; returns the user's id."""
    with app.app_context():
        carrier, _key = create_carrier(db.session, "Nordic Air")
        user = CarrierUser(
            carrier_id=carrier.id, email=EMAIL, password_hash=hash_password(PASSWORD)
        )
        db.session.add(user)
        db.session.commit()
        return user.id


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    token = _csrf(client.get("/carrier/sign-in").text)
    response = client.post(
        "/carrier/sign-in", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text
    assert client.get("/carrier/").status_code == 200
    return client


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    copy = app.test_client()
    copy.set_cookie(cookie.key, cookie.value)
    return copy


def _post_form(client: FlaskClient, path: str) -> Any:
    token = _csrf(client.get("/carrier/").text)
    return client.post(path, data={"csrf_token": token})


def test_a_copied_cookie_opens_nothing_after_sign_out(app: Flask, desk_user: int) -> None:
    desk = _signed_in(app)
    copied = _copy(app, desk)
    assert copied.get("/carrier/").status_code == 200
    assert _post_form(desk, "/carrier/sign-out").status_code == 302
    assert desk.get("/carrier/").status_code == 302
    assert copied.get("/carrier/").status_code == 302
    body = {"passport_number": "L898902C3", "issuing_country": "SWE"}
    assert copied.post("/carrier/check", json=body).status_code in (400, 401)
    with app.app_context():
        reasons = db.session.scalars(select(models.StaffSession.end_reason)).all()
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert reasons == ["signed_out"]
    assert {"carrier_user.signed_in", "carrier_user.signed_out"} <= set(actions)


def test_sign_out_everywhere_ends_every_desk(app: Flask, desk_user: int) -> None:
    first, second = _signed_in(app), _signed_in(app)
    page = first.get("/carrier/").text
    assert 'action="/carrier/sign-out-everywhere"' in page
    assert _post_form(first, "/carrier/sign-out-everywhere").status_code == 302
    assert first.get("/carrier/").status_code == 302
    assert second.get("/carrier/").status_code == 302


def _age(app: Flask, **ago: dt.timedelta) -> None:
    with app.app_context():
        row = db.session.scalar(
            select(models.StaffSession).where(models.StaffSession.ended_at.is_(None))
        )
        assert row is not None
        for column, delta in ago.items():
            setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def test_the_desk_has_an_idle_limit(app: Flask, desk_user: int) -> None:
    desk = _signed_in(app)
    idle = app.config["ETA_CARRIER_IDLE_SECONDS"]
    _age(app, seen_at=dt.timedelta(seconds=idle - 60))
    assert desk.get("/carrier/").status_code == 200  # within the limit, and seen again now
    _age(app, seen_at=dt.timedelta(seconds=idle + 1))
    response = desk.get("/carrier/")
    assert response.status_code == 302
    assert "your session timed out" in desk.get(response.location).text
    with app.app_context():
        assert db.session.scalars(select(models.StaffSession.end_reason)).all() == ["idle"]


def test_the_desk_has_an_absolute_limit(app: Flask, desk_user: int) -> None:
    desk = _signed_in(app)
    absolute = app.config["ETA_CARRIER_ABSOLUTE_SECONDS"]
    _age(app, created_at=dt.timedelta(seconds=absolute + 1))
    assert desk.get("/carrier/").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(models.StaffSession.end_reason)).all() == ["expired"]


def test_a_deactivated_desk_user_is_signed_out(app: Flask, desk_user: int) -> None:
    desk = _signed_in(app)
    with app.app_context():
        user = db.session.get(CarrierUser, desk_user)
        assert user is not None
        user.active = False
        db.session.commit()
    assert desk.get("/carrier/").status_code == 302
