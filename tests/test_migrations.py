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


def test_the_retention_migration_will_not_undo_an_erasure(
    empty_database, monkeypatch, make_app, capfd
):
    """0003's downgrade refuses while erased rows exist: their personal columns are NULL."""
    monkeypatch.setenv("ETA_DATABASE_URL", empty_database)
    app = make_app()
    engine = create_engine(empty_database)
    with app.app_context():
        upgrade()
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO applications (reference, status, status_changed_at, created_at,"
                    " version, channel, language, sex, nationality, passport_issuing_country,"
                    " passport_issue_date, passport_expiry_date, address_country, travel_purpose,"
                    " intended_arrival, answers, erased_at) VALUES ('ETA-TEST-0000-01', 'refused',"
                    " :now, :now, 1, 'web', 'en', 'F', 'SWE', 'SWE', '2020-01-01', '2030-01-01',"
                    " 'SWE', 'tourism', '2021-01-01', '{}', :now)"
                ),
                {"now": "2026-01-01 00:00:00+00:00"},
            )
        # flask_migrate logs the migration's RuntimeError and exits 1, as `eta db downgrade` does.
        with pytest.raises(SystemExit):
            downgrade(revision="0002")
        assert "1 applications were erased" in capfd.readouterr().err
        columns = {column["name"] for column in inspect(engine).get_columns("applications")}
        assert "erased_at" in columns  # nothing was undone
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM applications"))
        downgrade(revision="0002")
        columns = {column["name"] for column in inspect(engine).get_columns("applications")}
        assert "erased_at" not in columns
        downgrade(revision="base")
    engine.dispose()


def _old_chain(connection, count: int) -> list[str]:
    """Audit events as the pre-0004 hash chain wrote them: hash = SHA-256(prev_hash || body)."""
    import datetime as dt
    import hashlib
    import json

    bodies, prev = [], "0" * 64
    for n in range(count):
        at = dt.datetime(2026, 1, 1, 12, 0, n, tzinfo=dt.UTC)
        fields = {"actor": "system", "action": "test.event", "object_type": "application"}
        fields |= {"object_id": f"ETA-{n}", "details": {"n": n}}
        body = json.dumps(
            {"at": at.isoformat(timespec="microseconds"), **fields},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
        )
        digest = hashlib.sha256((prev + body).encode()).hexdigest()
        connection.execute(
            text(
                "INSERT INTO audit_events (id, at, actor, action, object_type, object_id,"
                " details, prev_hash, hash) VALUES (:id, :at, :actor, :action, :object_type,"
                " :object_id, :details, :prev, :hash)"
            ),
            {"id": n + 1, "at": at, **fields, "details": json.dumps(fields["details"])}
            | {"prev": prev, "hash": digest},
        )
        bodies.append(body)
        prev = digest
    return bodies


def test_0004_converts_an_intact_chain_into_the_first_leaves_in_id_order(
    empty_database, monkeypatch, make_app
):
    import hashlib

    monkeypatch.setenv("ETA_DATABASE_URL", empty_database)
    app = make_app()
    engine = create_engine(empty_database)
    with app.app_context():
        upgrade(revision="0003")
        with engine.begin() as connection:
            bodies = _old_chain(connection, 5)
        upgrade(revision="0004")
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT position, body, leaf_hash FROM audit_events ORDER BY id")
            ).all()
        assert [row.position for row in rows] == [0, 1, 2, 3, 4]
        assert [row.body for row in rows] == bodies
        assert [bytes(row.leaf_hash) for row in rows] == [
            hashlib.sha256(b"\x00" + body.encode()).digest() for body in bodies
        ]
        downgrade(revision="base")
    engine.dispose()


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE audit_events SET actor = 'officer:9' WHERE id = 3", "its content does not match"),
        ("DELETE FROM audit_events WHERE id = 3", "its link to the previous event is broken"),
    ],
)
def test_0004_refuses_to_convert_a_broken_chain_and_changes_nothing(
    empty_database, monkeypatch, make_app, capfd, tamper, named
):
    """The old chain is checked first: a tampered or missing event stops the migration."""
    monkeypatch.setenv("ETA_DATABASE_URL", empty_database)
    app = make_app()
    engine = create_engine(empty_database)
    with app.app_context():
        upgrade(revision="0003")
        with engine.begin() as connection:
            _old_chain(connection, 5)
            connection.execute(text(tamper))
        capfd.readouterr()
        # flask_migrate logs the migration's error and exits 1, as `eta db upgrade` does.
        with pytest.raises(SystemExit):
            upgrade(revision="0004")
        err = capfd.readouterr().err
        event = 3 if "content" in named else 4
        assert f"audit chain broken at event {event}: {named}" in err
        assert "the migration to the Merkle log refuses (restore the log first)" in err
        inspector = inspect(engine)
        columns = {column["name"] for column in inspector.get_columns("audit_events")}
        assert {"prev_hash", "hash"} <= columns and "leaf_hash" not in columns
        assert "audit_tree_nodes" not in inspector.get_table_names()
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0003"
        downgrade(revision="base")
    engine.dispose()
