"""Fixtures for the carrier tests: a signing key, carriers with API keys, issued authorisations."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from eta import applications, authorisations
from eta.accounts import create_carrier
from eta.issuance.keys import Keyring
from eta.models import Application, Authorisation
from eta.timeutil import utcnow
from tests.factories import submitted_application


@pytest.fixture
def signing_key(app: Flask) -> None:
    """An active key in the test ETA_KEYS_DIR (shared by the session; made once)."""
    ring = Keyring.load(Path(os.environ["ETA_KEYS_DIR"]))
    if not any(info.state == "active" for info in ring.list()):
        ring.generate()


@pytest.fixture
def carrier_key(session: Any) -> str:
    """A new carrier's API key."""
    _carrier, key = create_carrier(session, "Test Air")
    return key


@pytest.fixture
def auth_headers(carrier_key: str) -> dict[str, str]:
    """Headers that authenticate as the test carrier."""
    return {"Authorization": f"Bearer {carrier_key}"}


@pytest.fixture
def authorise(session: Any, signing_key: None) -> Callable[..., Authorisation]:
    """Issue a real authorisation (approved application, signed token) for a passenger."""

    def make(*, issued_at: dt.datetime | None = None, **overrides: Any) -> Authorisation:
        application = submitted_application(session, **overrides)
        applications.start_screening(session, application)
        applications.approve(session, application)
        authorisation = authorisations.issue_for(session, application, now=issued_at or utcnow())
        assert authorisation is not None
        return authorisation

    return make


@pytest.fixture
def pending(session: Any) -> Callable[..., Application]:
    """An application still being screened."""

    def make(**overrides: Any) -> Application:
        application = submitted_application(session, **overrides)
        return applications.start_screening(session, application)

    return make


@pytest.fixture
def carrier_statements(app: Flask) -> Callable[[], contextlib.AbstractContextManager[list[str]]]:
    """``with carrier_statements() as statements:`` lists the SQL the carrier engine runs."""
    from eta.carrier.service import carrier_engine

    with app.app_context():
        engine = carrier_engine()

    @contextlib.contextmanager
    def watch() -> Iterator[list[str]]:
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", count)

    return watch
