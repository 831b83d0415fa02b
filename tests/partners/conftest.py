"""A second eta instance for the partner tests: its own database, Redis, keys and trust list.

Instance A is the session's app (its database is the test stack's); instance B is built here
with a database of its own (on PostgreSQL, the test database's name with ``_b``; on SQLite, a
file of its own), migrated by the real migrations, and keys and a trust list of its own. The
two share the test Redis: flask-limiter keeps one storage per process, so a Redis of B's own
would leave A's rate limits on B's server once B is gone. Each test drains the queues on the
instance whose jobs they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@dataclass
class Instance:
    """One eta instance of the exchange."""

    name: str
    app: Flask
    folder: Path

    def run(self, *args: str) -> Any:
        """Run an `eta` command on this instance (a real CLI invocation, in-process)."""
        return self.app.test_cli_runner().invoke(args=list(args))


def _second_database(url: str, folder: Path) -> str:
    """B's database: ``<name>_b`` next to the test database, or a SQLite file of its own."""
    if url.startswith("sqlite"):
        return f"sqlite:///{folder / 'eta-b.db'}"
    parsed = make_url(url)
    name = f"{parsed.database}_b"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).scalar()
        if not exists:
            # DDL with an identifier: SQLAlchemy has no construct for CREATE DATABASE.
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    second = parsed.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(second)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return second


def partner_config(name: str, folder: Path) -> dict[str, Any]:
    """What makes an instance itself: issuer and public URL, partner id, keys, trust list."""
    return {
        "ETA_ISSUER": f"https://eta-{name}.example",
        "ETA_PUBLIC_URL": f"https://eta-{name}.example",
        "ETA_PARTNER_ID": f"{name}-border",
        "ETA_KEYS_DIR": str(folder / "keys"),
        "ETA_TRUST_LIST": str(folder / "trust" / "trust-list.jws"),
        "TRUSTED_HOSTS": None,
    }


@pytest.fixture
def instance_a(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    """The session's app, made partner "a" for this test."""
    from eta.screening.lists import store

    folder = tmp_path / "a"
    folder.mkdir()
    for name, value in partner_config("a", folder).items():
        monkeypatch.setitem(app.config, name, value)
    yield Instance("a", app, folder)
    # The watchlist index is cached per database by (source id, version id): the next test's
    # emptied tables hand out the same ids again, so forget this test's lists.
    store._cache.clear()


@pytest.fixture
def instance_b(app: Flask, test_env: dict[str, str], tmp_path: Path) -> Iterator[Instance]:
    """A second instance, partner "b": its own database, keys and trust list."""
    from flask_migrate import upgrade

    from eta import create_app
    from eta.extensions import db

    folder = tmp_path / "b"
    folder.mkdir()
    config = {
        **partner_config("b", folder),
        "SQLALCHEMY_DATABASE_URI": _second_database(test_env["ETA_DATABASE_URL"], folder),
        "ETA_MAIL_URL": f"file://{folder / 'outbox'}",
    }
    second = create_app(config)
    with second.app_context():
        upgrade()
    yield Instance("b", second, folder)
    with second.app_context():
        query_log = second.extensions.get("eta.carrier_query_log")
        if query_log is not None:
            query_log.flush()  # B's carrier answers are logged in B's database, before it goes
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def anchor(tmp_path: Path) -> dict[str, Path]:
    """The offline anchor: its private key (PEM) and public JWKS, made by `eta trust anchor-key`."""
    from click.testing import CliRunner

    from eta.partners.cli import anchor_key

    pem = tmp_path / "anchor.pem"
    made = CliRunner().invoke(anchor_key, [str(pem)])
    assert made.exit_code == 0, made.output
    jwks = tmp_path / "anchor.jwks"
    jwks.write_text(made.output)
    assert os.stat(pem).st_mode & 0o077 == 0
    return {"pem": pem, "jwks": jwks}
