"""Configuration: environment overrides, and production refusing unsafe defaults in one line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigurationError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_development_defaults(tmp_path):
    settings = load_settings(tmp_path, {})
    assert settings["ETA_ENV"] == "development"
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'eta.db'}"
    assert settings["ETA_REDIS_URL"] is None
    assert settings["ETA_KEYS_DIR"] == str(tmp_path / "keys")
    # The generated secret is kept, so sessions survive a restart.
    assert load_settings(tmp_path, {})["SECRET_KEY"] == settings["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({}, "ETA_SECRET_KEY"),
        ({"ETA_SECRET_KEY": "s" * 40}, "SQLite"),
        (
            {"ETA_SECRET_KEY": "s" * 40, "ETA_DATABASE_URL": "postgresql+psycopg://db/eta"},
            "ETA_REDIS_URL",
        ),
    ],
)
def test_production_refuses_unsafe_defaults(tmp_path, environ, reason):
    with pytest.raises(ConfigurationError, match=reason):
        load_settings(tmp_path, {"ETA_ENV": "production", **environ})


def test_production_with_safe_settings(tmp_path):
    settings = load_settings(
        tmp_path,
        {
            "ETA_ENV": "production",
            "ETA_SECRET_KEY": "s" * 40,
            "ETA_DATABASE_URL": "postgresql+psycopg://db/eta",
            "ETA_REDIS_URL": "redis://redis:6379/0",
            "ETA_PDF_SIGNING_CERT": "/etc/eta/pdf-signing-cert.pem",
            "ETA_PDF_SIGNING_KEY": "/etc/eta/pdf-signing-key.pem",
        },
    )
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="ETA_ENV"):
        load_settings(tmp_path, {"ETA_ENV": "staging"})


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETA_")}
    env.update(extra)
    return env


@pytest.mark.parametrize(
    "command",
    [
        [str(Path(sys.executable).parent / "eta"), "db", "current"],
        [sys.executable, "-c", "import wsgi"],
    ],
    ids=["cli", "wsgi"],
)
def test_production_without_secret_exits_with_one_line(command):
    result = subprocess.run(
        command,
        env=_clean_env(ETA_ENV="production"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "ETA_SECRET_KEY" in lines[0]


def test_optional_settings_come_from_the_environment(tmp_path):
    settings = load_settings(
        tmp_path, {"ETA_OFFICER_IDLE_SECONDS": "600", "ETA_APPEAL_TEXT": "Write to us."}
    )
    assert settings["ETA_OFFICER_IDLE_SECONDS"] == 600
    assert settings["ETA_APPEAL_TEXT"] == "Write to us."
    assert settings["ETA_DASHBOARD_DAYS"] == 30  # unset: the default in config/settings.py
    with pytest.raises(ConfigurationError, match="ETA_DASHBOARD_DAYS must be a whole number"):
        load_settings(tmp_path, {"ETA_DASHBOARD_DAYS": "thirty"})


def test_every_policy_number_has_its_default_in_settings(tmp_path):
    settings = load_settings(tmp_path, {})
    assert settings["ETA_SAVE_RATE_LIMIT"] == "10/hour"
    assert settings["ETA_VERIFY_RATE_LIMIT"] == "30/minute"
    assert settings["ETA_APPLY_RATE_LIMIT"] == "30/minute;300/hour"
    assert settings["ETA_RULE_DRY_RUN_SIZE"] == 2000
    assert settings["ETA_TRUSTED_PROXIES"] == 0
    overridden = load_settings(tmp_path, {"ETA_SAVE_RATE_LIMIT": "3/hour"})
    assert overridden["ETA_SAVE_RATE_LIMIT"] == "3/hour"
    with pytest.raises(ConfigurationError, match="ETA_RULE_DRY_RUN_SIZE must be at least 1"):
        load_settings(tmp_path, {"ETA_RULE_DRY_RUN_SIZE": "0"})


def test_the_save_link_rate_limit_comes_from_settings(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "ETA_SAVE_RATE_LIMIT", "1/day")
    client.get("/apply")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/apply/save").text)
    assert token
    # No address given: a form error, which still counts against the limit.
    first = client.post("/apply/save", data={"csrf_token": token.group(1), "email": ""})
    second = client.post("/apply/save", data={"csrf_token": token.group(1), "email": ""})
    assert first.status_code != 429
    assert second.status_code == 429


def test_sqlite_runs_in_wal_mode_without_an_fsync_per_commit(session):
    from sqlalchemy import text

    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert session.scalar(text("PRAGMA journal_mode")) == "wal"
    assert session.scalar(text("PRAGMA synchronous")) == 1  # NORMAL


@pytest.mark.parametrize("name", ["ETA_DRAFT_DAYS", "ETA_IDEMPOTENCY_HOURS", "ETA_DECISION_HOURS"])
def test_a_bad_integer_is_a_one_line_configuration_error(tmp_path, name):
    with pytest.raises(ConfigurationError, match=f"^{name} must be a whole number, not 'ten'$"):
        load_settings(tmp_path, {name: "ten"})


def test_policy_numbers_have_their_defaults_in_settings(tmp_path):
    settings = load_settings(tmp_path, {"ETA_DRAFT_DAYS": "7"})
    assert (settings["ETA_DRAFT_DAYS"], settings["ETA_IDEMPOTENCY_HOURS"]) == (7, 24)


SIGN_IN_POLICY = {
    "ETA_OFFICER_IDLE_SECONDS": 900,
    "ETA_OFFICER_ABSOLUTE_SECONDS": 28800,
    "ETA_CARRIER_IDLE_SECONDS": 900,
    "ETA_CARRIER_ABSOLUTE_SECONDS": 28800,
    "ETA_OFFICER_LOCKOUT_FAILURES": 5,
    "ETA_OFFICER_LOCKOUT_FIRST_SECONDS": 60,
    "ETA_OFFICER_LOCKOUT_MAX_SECONDS": 3600,
    "ETA_CARRIER_LOCKOUT_FAILURES": 5,
    "ETA_CARRIER_LOCKOUT_FIRST_SECONDS": 900,
    "ETA_CARRIER_LOCKOUT_MAX_SECONDS": 900,
}


def test_sign_in_policy_numbers_have_their_defaults_and_variables_in_settings(tmp_path):
    settings = load_settings(tmp_path, {})
    assert {name: settings[name] for name in SIGN_IN_POLICY} == SIGN_IN_POLICY
    assert settings["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"] == "20/minute;100/hour"
    assert settings["ETA_CARRIER_SIGN_IN_RATE_LIMIT"] == "20/minute"
    assert settings["ETA_OFFICER_SIGN_IN_RATE_LIMIT"] == "20/minute;200/hour"
    changed = load_settings(tmp_path, dict.fromkeys(SIGN_IN_POLICY, "7"))
    assert {name: changed[name] for name in SIGN_IN_POLICY} == dict.fromkeys(SIGN_IN_POLICY, 7)
    # The desk's cookie lasts as long as its server-side session may.
    assert changed["PERMANENT_SESSION_LIFETIME"] == 7


@pytest.mark.parametrize("name", sorted(SIGN_IN_POLICY))
def test_a_bad_sign_in_policy_number_is_a_one_line_configuration_error(tmp_path, name):
    with pytest.raises(ConfigurationError, match=f"^{name} must be a whole number, not 'ten'$"):
        load_settings(tmp_path, {name: "ten"})
    with pytest.raises(ConfigurationError, match=f"^{name} must be at least 1, not 0$"):
        load_settings(tmp_path, {name: "0"})


def test_a_nationality_both_eligible_and_exempt_is_a_configuration_error(tmp_path):
    """Wave 1 shipped IRL in both lists: an Irish traveller was told two things."""
    assert "IRL" not in load_settings(tmp_path, {})["ETA_ELIGIBLE_NATIONALITIES"]
    with pytest.raises(ConfigurationError, match="IRL in both ETA_ELIGIBLE_NATIONALITIES"):
        load_settings(tmp_path, {"ETA_ELIGIBLE_NATIONALITIES": "SWE,IRL"})


OUTAGE_SETTINGS = {
    "ETA_RETRY_AFTER_SECONDS": 5,
    "ETA_DATABASE_CONNECT_TIMEOUT_SECONDS": 5,
    "ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS": 30.0,
    "ETA_STAFF_SESSION_RETENTION_DAYS": 90,
}


def test_outage_settings_have_their_defaults_and_variables_in_settings(tmp_path):
    settings = load_settings(tmp_path, {})
    assert {name: settings[name] for name in OUTAGE_SETTINGS} == OUTAGE_SETTINGS
    # The carrier API's Retry-After follows the general one unless set on its own.
    assert settings["ETA_CARRIER_RETRY_AFTER_SECONDS"] == 5
    changed = load_settings(tmp_path, dict.fromkeys(OUTAGE_SETTINGS, "9"))
    assert {name: changed[name] for name in OUTAGE_SETTINGS} == dict.fromkeys(OUTAGE_SETTINGS, 9)
    assert changed["ETA_CARRIER_RETRY_AFTER_SECONDS"] == 9
    off = load_settings(tmp_path, {"ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS": "0"})
    assert off["ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS"] == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ETA_RETRY_AFTER_SECONDS", "0", "must be at least 1"),
        ("ETA_DATABASE_CONNECT_TIMEOUT_SECONDS", "soon", "must be a whole number"),
        ("ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS", "-1", "must be a number of 0 or more"),
        ("ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS", "inf", "must be a number of 0 or more"),
        ("ETA_STAFF_SESSION_RETENTION_DAYS", "0", "must be at least 1"),
    ],
)
def test_a_bad_outage_setting_is_a_one_line_configuration_error(tmp_path, name, value, message):
    with pytest.raises(ConfigurationError, match=f"^{name} {message}"):
        load_settings(tmp_path, {name: value})


def test_postgresql_engines_get_the_connect_and_statement_timeouts(tmp_path):
    from eta.extensions import bounded_engine_options, database_connect_args

    config = {
        **load_settings(tmp_path, {"ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS": "2.5"}),
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://eta@db/eta?options=-c%20search_path%3Deta",
    }
    assert database_connect_args(config, config["SQLALCHEMY_DATABASE_URI"]) == {
        "connect_timeout": 5,
        "options": "-c search_path=eta -c statement_timeout=2500",
    }
    # Connect arguments set by the deployment win; SQLite gets none.
    mine = bounded_engine_options(config, {"connect_args": {"connect_timeout": 1}})
    assert mine["connect_args"]["connect_timeout"] == 1
    assert bounded_engine_options(config, {"url": "sqlite:///x.db", "echo": False}) == {
        "url": "sqlite:///x.db",
        "echo": False,
    }
    config["ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS"] = 0
    assert "options" not in database_connect_args(config, "postgresql+psycopg://eta@db/eta")
