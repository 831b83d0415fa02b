"""Issue 13, finding 7: sign-in forms must not tell whether an email address has an account.

From the 5th wrong password a real officer account said "Too many failed attempts. Try again
after 13:37 UTC" in 18 ms, while an unknown address kept the generic message in 250 ms; the
carrier desk likewise. Now every refusal at the password step gives the same page, and exactly
one argon2 verification runs in every case (counted, not timed: no test here can flake).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from eta.accounts import create_carrier, passwords
from eta.extensions import db
from eta.models import CarrierUser, Officer

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="[^"]+"')


class CountingHasher(PasswordHasher):
    """argon2-cffi's real hasher, counting its verifications."""

    verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        """Verify as argon2-cffi does, and count it."""
        type(self).verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many argon2 verifications ran since the last call."""
    monkeypatch.setattr(passwords, "_hasher", CountingHasher())

    def since_last() -> int:
        count = CountingHasher.verifications
        CountingHasher.verifications = 0
        return count

    since_last()
    return since_last


def _page(client: FlaskClient, path: str, email: str, password: str) -> tuple[int, str]:
    """Post the sign-in form; the answer's status and page, with what differs by nature masked."""
    form = client.get(path).get_data(as_text=True)
    token = _CSRF.search(form)
    assert token
    response = client.post(
        path,
        data={"csrf_token": token.group(0).split('"')[-2], "email": email, "password": password},
    )
    page = _CSRF.sub("", response.get_data(as_text=True)).replace(email, "EMAIL")
    return response.status_code, page


def _answers(
    app: Flask,
    path: str,
    cases: dict[str, tuple[str, str]],
    verifications: Callable[[], int],
) -> dict[str, tuple[int, str, int]]:
    answers = {}
    for name, (email, password) in cases.items():
        status, page = _page(app.test_client(), path, email, password)
        answers[name] = (status, page, verifications())
    return answers


def _lock(app: Flask, model: Any, email: str, failures: int) -> None:
    client = app.test_client()
    for _ in range(failures):
        _page(
            client,
            "/officer/sign-in" if model is Officer else "/carrier/sign-in",
            email,
            "wrong password!!",
        )


def test_officer_sign_in_answers_alike_for_unknown_wrong_locked_and_deactivated(
    app: Flask, verifications: Callable[[], int]
) -> None:
    with app.app_context():
        hashed = passwords.hash_password(PASSWORD)
        for name, active in (("real", True), ("locked", True), ("gone", False)):
            db.session.add(
                Officer(
                    email=f"{name}@border.test",
                    password_hash=hashed,
                    totp_secret=pyotp.random_base32(),
                    active=active,
                )
            )
        db.session.commit()
    _lock(app, Officer, "locked@border.test", app.config["ETA_OFFICER_LOCKOUT_FAILURES"])
    verifications()
    answers = _answers(
        app,
        "/officer/sign-in",
        {
            "unknown": ("nobody@border.test", PASSWORD),
            "wrong password": ("real@border.test", "not the password at all"),
            "locked, right password": ("locked@border.test", PASSWORD),
            "deactivated, right password": ("gone@border.test", PASSWORD),
        },
        verifications,
    )
    assert {(status, page) for status, page, _ in answers.values()} == {
        (400, answers["unknown"][1])
    }, "the pages differ"
    assert "Enter a correct email address and password" in answers["unknown"][1]
    assert {name: count for name, (_, _, count) in answers.items()} == dict.fromkeys(answers, 1)


def test_carrier_sign_in_answers_alike_for_unknown_wrong_locked_and_deactivated(
    app: Flask, verifications: Callable[[], int]
) -> None:
    with app.app_context():
        carrier, _key = create_carrier(db.session, "Nordic Air")
        hashed = passwords.hash_password(PASSWORD)
        for email, active in (
            ("real@nordic.example", True),
            ("locked@nordic.example", True),
            ("gone@nordic.example", False),
        ):
            db.session.add(
                CarrierUser(
                    carrier_id=carrier.id,
                    email=email,
                    password_hash=hashed,
                    active=active,
                )
            )
        db.session.commit()
    _lock(app, CarrierUser, "locked@nordic.example", app.config["ETA_CARRIER_LOCKOUT_FAILURES"])
    verifications()
    answers = _answers(
        app,
        "/carrier/sign-in",
        {
            "unknown": ("nobody@nordic.example", PASSWORD),
            "wrong password": ("real@nordic.example", "not the password at all"),
            "locked, right password": ("locked@nordic.example", PASSWORD),
            "deactivated, right password": ("gone@nordic.example", PASSWORD),
        },
        verifications,
    )
    assert {(status, page) for status, page, _ in answers.values()} == {
        (400, answers["unknown"][1])
    }, "the pages differ"
    assert "Enter a correct email address and password" in answers["unknown"][1]
    assert {name: count for name, (_, _, count) in answers.items()} == dict.fromkeys(answers, 1)
