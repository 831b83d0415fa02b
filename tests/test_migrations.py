"""The migrations build exactly the models on empty SQLite and PostgreSQL, and undo cleanly."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from eta.models import Base


def _fresh_postgres_database(url: str) -> str:
    """Create an empty database beside the configured one, so the session's data is untouched."""
    base = make_url(url)
    name = f"{base.database}_migrations"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    configured = os.environ.get("ETA_DATABASE_URL", "")
    if not configured.startswith("postgresql"):
        pytest.skip("PostgreSQL is checked on the PostgreSQL stack (ETA_DATABASE_URL)")
    return _fresh_postgres_database(configured)


def test_upgrade_builds_exactly_the_models_and_downgrade_undoes_it(
    empty_database, monkeypatch, make_app
):
    monkeypatch.setenv("ETA_DATABASE_URL", empty_database)
    app = make_app()
    engine = create_engine(empty_database)
    with app.app_context():
        upgrade()
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables

        downgrade(revision="base")
        engine.dispose()
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
