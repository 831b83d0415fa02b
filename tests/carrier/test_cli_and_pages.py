"""Carrier commands (keys, staff) and the check-in page's sign-in and passport check."""

from __future__ import annotations

import re
from typing import Any

from flask import g
from sqlalchemy import select

from eta.carrier.service import query_log
from eta.models import CarrierApiKey, CarrierQuery, CarrierUser

PASSWORD = "correct horse battery"


def _create(runner: Any, name: str = "Nordic Air") -> str:
    result = runner.invoke(args=["carrier", "create", name])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _verify(client: Any, key: str) -> int:
    body = {"passport_number": "X1", "issuing_country": "SWE"}
    response = client.post(
        "/api/v1/carrier/verify", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    return int(response.status_code)


def test_rotate_then_revoke_all_but_newest(runner, client, session):
    old = _create(runner)
    rotated = runner.invoke(args=["carrier", "rotate-key", "Nordic Air"])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.strip().splitlines()[-1]
    assert new.startswith("eta_") and new != old
    assert (_verify(client, old), _verify(client, new)) == (200, 200)
    ended = runner.invoke(args=["carrier", "revoke-keys", "Nordic Air", "--keep-newest"])
    assert "Revoked 1" in ended.output
    assert (_verify(client, old), _verify(client, new)) == (401, 200)
    runner.invoke(args=["carrier", "revoke-keys", "Nordic Air"])
    assert _verify(client, new) == 401
    assert all(key.revoked_at for key in session.scalars(select(CarrierApiKey)))


def test_unknown_carrier_is_a_clear_error(runner, app):
    result = runner.invoke(args=["carrier", "rotate-key", "Nobody"])
    assert result.exit_code != 0
    assert "no carrier named Nobody" in result.output


def test_add_user_reads_the_password_from_stdin(runner, session):
    _create(runner)
    short = runner.invoke(args=["carrier", "add-user", "Nordic Air", "a@x.org"], input="short\n")
    assert short.exit_code != 0
    result = runner.invoke(
        args=["carrier", "add-user", "Nordic Air", "Desk@Nordic.example"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(select(CarrierUser))
    assert user.email == "desk@nordic.example"
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")


def test_usage_counts_passengers(app, runner, client):
    key = _create(runner)
    _verify(client, key)
    with app.app_context():
        query_log().flush()  # written in batches; the usage report reads the table
    result = runner.invoke(args=["carrier", "usage", "Nordic Air"])
    assert "1 passengers checked" in result.output
    assert "passport" in result.output


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match
    return match.group(1)


def _staff(runner: Any) -> None:
    _create(runner)
    runner.invoke(args=["carrier", "add-user", "Nordic Air", "desk@nordic.example"], input=PASSWORD)


def _sign_in(client: Any, password: str = PASSWORD) -> Any:
    page = client.get("/carrier/sign-in")
    return client.post(
        "/carrier/sign-in",
        data={"email": "desk@nordic.example", "password": password, "csrf_token": _csrf(page.text)},
    )


def test_check_in_page_needs_sign_in(runner, client):
    assert client.get("/carrier/").headers["Location"].endswith("/carrier/sign-in")
    _staff(runner)
    wrong = _sign_in(client, "wrong password here")
    assert wrong.status_code == 400
    assert "Enter a correct email address and password" in wrong.text
    assert _sign_in(client).status_code == 302
    page = client.get("/carrier/")
    assert page.status_code == 200
    assert "Check a passenger" in page.text
    assert "<script>" not in page.text and "style=" not in page.text
    assert 'data-issuer="http://eta.test"' in page.text


def test_repeated_failures_lock_the_account(runner, client, session):
    _staff(runner)
    for _ in range(5):
        _sign_in(client, "wrong password here")
    locked = _sign_in(client)
    assert locked.status_code == 400
    # The same message as for an unknown address: a lock-out must not tell the account exists.
    assert "Enter a correct email address and password" in locked.text
    assert "Too many failed attempts" not in locked.text
    assert client.get("/carrier/").status_code == 302
    user = session.scalar(select(CarrierUser))
    session.refresh(user)
    assert user.locked_until is not None


def test_passport_check_needs_session_and_csrf(runner, client, session, authorise):
    authorise()
    body = {"passport_number": "L898902C3", "issuing_country": "SWE"}
    assert client.post("/carrier/check", json=body).status_code in (400, 401)
    _staff(runner)
    _sign_in(client)
    # The `session` fixture holds an app context that requests reuse, so flask-wtf's per-request
    # token cache in `g` would outlive the new session made at sign-in; production has no such
    # shared context.
    g.pop("csrf_token", None)
    token = _csrf(client.get("/carrier/").text)
    assert client.post("/carrier/check", json=body).status_code == 400  # no CSRF token
    answer = client.post("/carrier/check", json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == 200, answer.text
    data = answer.get_json()
    assert (data["result"], data["passport_number"], data["surname"]) == (
        "OK",
        "L898902C3",
        "ERIKSSON",
    )
    bad = client.post(
        "/carrier/check", json={"passport_number": "A1"}, headers={"X-CSRFToken": token}
    )
    assert bad.status_code == 422 and "issuing_country" in bad.get_json()["errors"]
    query_log().flush()
    logged = session.scalar(select(CarrierQuery))
    assert (logged.kind, logged.result, logged.api_key_id) == ("passport", "OK", None)
