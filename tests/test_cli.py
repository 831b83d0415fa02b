"""The `eta` command line: accounts, demo data."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from eta.accounts import hash_api_key
from eta.accounts.passwords import check_password
from eta.models import CarrierApiKey, Officer


def test_officer_create_reads_the_password_from_stdin_and_prints_totp(runner, session):
    result = runner.invoke(
        args=["officer", "create", "Ada@Example.gov", "--role", "supervisor"],
        input="correct horse battery staple\n",
    )
    assert result.exit_code == 0, result.output
    officer = session.scalar(select(Officer).where(Officer.email == "ada@example.gov"))
    assert officer is not None and officer.role == "supervisor"
    assert officer.password_hash.startswith("$argon2id$")
    assert check_password(officer.password_hash, "correct horse battery staple")
    assert f"TOTP secret: {officer.totp_secret}" in result.output
    assert "otpauth://totp/" in result.output
    assert pyotp.TOTP(officer.totp_secret).verify(pyotp.TOTP(officer.totp_secret).now())


def test_officer_create_refuses_a_short_password_and_a_duplicate(runner):
    result = runner.invoke(args=["officer", "create", "a@example.gov"], input="short\n")
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    runner.invoke(args=["officer", "create", "a@example.gov"], input="a long enough password\n")
    result = runner.invoke(
        args=["officer", "create", "a@example.gov"], input="a long enough password\n"
    )
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_carrier_create_prints_the_key_once_on_its_last_line(runner, session):
    result = runner.invoke(args=["carrier", "create", "Nordic Air"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("eta_") and len(key) >= 43 + 4
    stored = session.scalar(select(CarrierApiKey))
    assert stored.key_hash == hash_api_key(key)
    assert key not in stored.key_hash


def test_demo_is_idempotent_and_prints_credentials(runner, session):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert len(session.scalars(select(Officer)).all()) == 3
    assert "officer@demo.eta" in second.output
    assert "API key eta_" in second.output


def test_demo_refuses_in_production_with_one_line_and_exit_2(app, runner, session, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_ENV", "production")
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "ETA_ENV=production" in lines[0]
    assert session.scalars(select(Officer)).all() == []
