"""The database or Redis unreachable: every route answers 503 with Retry-After, never a 500 or a
hang (issue 13). Real outages: a second app whose database is a closed port (or a port that
accepts and never answers), a redis-server of the test's own that is stopped, a table locked
by another connection (PostgreSQL)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.factories import valid_payload

# Nothing listens on port 1 (it needs root, and nobody runs tcpmux): connecting is refused.
CLOSED_DATABASE = "postgresql+psycopg://nobody@127.0.0.1:1/none"
PARAMETER = re.compile(r"<(?:\w+:)?\w+>")
STATUS_QUERY = {
    "reference": "ETA-7KQ2-MX9P-4D",
    "passport_number": "L898902C3",
    "date_of_birth": "1974-08-12",
}


def _routes(app: Flask) -> list[tuple[str, str]]:
    """Every (path, method) of the app, path parameters filled with 1."""
    return sorted(
        {
            (PARAMETER.sub("1", rule.rule), method)
            for rule in app.url_map.iter_rules()
            if not rule.rule.startswith("/static/")
            for method in (rule.methods or set()) & {"GET", "POST"}
        }
    )


def _request(client: FlaskClient, path: str, method: str):
    """One request as a client would send it: JSON to the API, a form to a page."""
    if method == "GET":
        return client.get(path)
    if path == "/api/v1/applications":
        return client.post(path, json=valid_payload())
    if path == "/api/v1/applications/status":
        return client.post(path, json=STATUS_QUERY)
    if path.startswith("/api/"):
        return client.post(path, json={"passport_number": "L898902C3", "issuing_country": "SWE"})
    form = {
        **STATUS_QUERY,
        **{"date_of_birth-day": "12", "date_of_birth-month": "8", "date_of_birth-year": "1974"},
        **{"email": "a@example.org", "password": "x"},
    }
    return client.post(path, data=form)


def _assert_unavailable(response, retry_after: int, *, problem: bool) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(retry_after)
    if problem:
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["status"] == 503
        assert body["type"].endswith("/unavailable")
    else:
        assert response.mimetype == "text/html"


def _walk(client: FlaskClient, app: Flask, retry_after: int) -> dict[int, list[str]]:
    """Request every route; no 500, no slow answer, and every 503 carries Retry-After."""
    seen: dict[int, list[str]] = {}
    for path, method in _routes(app):
        started = time.monotonic()
        response = _request(client, path, method)
        elapsed = time.monotonic() - started
        assert elapsed < 5, (method, path, elapsed)
        assert response.status_code < 500 or response.status_code == 503, (
            method,
            path,
            response.status_code,
        )
        if response.status_code == 503 and path != "/readyz":  # the probe names what is down
            _assert_unavailable(response, retry_after, problem=path.startswith(("/api/", "/.")))
        seen.setdefault(response.status_code, []).append(f"{method} {path}")
        response.close()
    return seen


@pytest.fixture
def no_limits(app: Flask) -> Iterator[None]:
    """Switch off the rate limits: the walk sends dozens of requests from one address."""
    from eta.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True


def _dead_database_app(make_app, monkeypatch, url: str = CLOSED_DATABASE, **config) -> Flask:
    monkeypatch.setenv("ETA_DATABASE_URL", url)
    return make_app({"SERVER_NAME": None, "WTF_CSRF_ENABLED": False, **config})


def test_with_the_database_unreachable_every_route_answers_or_503s(
    app, make_app, monkeypatch, no_limits
):
    broken = _dead_database_app(make_app, monkeypatch, ETA_RETRY_AFTER_SECONDS=7)
    client = broken.test_client()
    seen = _walk(client, broken, retry_after=7)
    # What needs the database answered 503: the API's submission and status look-up, the
    # journey's first page, the revocation list, officer sign-in.
    unavailable = set(seen[503])
    assert {
        "POST /api/v1/applications",
        "POST /api/v1/applications/status",
        "GET /apply",
        "GET /api/v1/revocations",
        "POST /officer/sign-in",
        "POST /status",
    } <= unavailable
    # What needs neither still works.
    assert {"GET /healthz", "GET /", "GET /api/v1/openapi.json"} <= set(seen[200])


def test_a_signed_in_officer_gets_the_error_page_in_their_language(make_app, monkeypatch):
    broken = _dead_database_app(make_app, monkeypatch)
    client = broken.test_client()
    with client.session_transaction() as session:  # a staff session cookie, checked per request
        session["_user_id"] = "a-session-token"
        session["lang"] = "fr"
    response = client.get("/officer/")
    _assert_unavailable(response, broken.config["ETA_RETRY_AFTER_SECONDS"], problem=False)
    page = response.get_data(as_text=True)
    assert "Désolé, le service est indisponible" in page
    assert 'lang="fr"' in page
    english = broken.test_client().get("/apply", headers={"Accept-Language": "en"})
    assert "Sorry, the service is unavailable" in english.get_data(as_text=True)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung or firewalled host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_database_that_never_answers_fails_within_the_connect_timeout(
    make_app, monkeypatch, silent_server
):
    """Without connect_timeout, libpq waits for the server's answer for ever: the request hung."""
    broken = _dead_database_app(
        make_app,
        monkeypatch,
        f"postgresql+psycopg://nobody@127.0.0.1:{silent_server}/none",
        ETA_DATABASE_CONNECT_TIMEOUT_SECONDS=2,  # libpq's smallest
    )
    client = broken.test_client()
    started = time.monotonic()
    response = client.post("/api/v1/applications/status", json=STATUS_QUERY)
    elapsed = time.monotonic() - started
    _assert_unavailable(response, 5, problem=True)
    assert 1.5 < elapsed < 6, elapsed


def test_a_programming_error_is_still_a_500(make_app):
    """Only an outage is a 503: a query on a table that does not exist is our bug."""
    from eta.extensions import db

    fresh = make_app({"SERVER_NAME": None})

    def broken_query() -> str:
        db.session.execute(text("SELECT * FROM eta_no_such_table"))
        return "unreachable"

    fresh.add_url_rule("/api/v1/test-bug", view_func=broken_query)
    response = fresh.test_client().get("/api/v1/test-bug")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


# ---- PostgreSQL: the statement timeout ---------------------------------------------------------


def test_the_engines_carry_the_statement_timeout(app, make_app):
    from eta.extensions import db

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("statement_timeout is PostgreSQL's")
    bounded = make_app({"SERVER_NAME": None, "ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS": 1.5})
    with bounded.app_context():
        for engine in db.engines.values():  # the app's and the carrier API's
            with engine.connect() as connection:
                assert connection.scalar(text("SHOW statement_timeout")) == "1500ms"


def test_a_locked_table_answers_503_after_the_statement_timeout(app, make_app):
    """A statement stuck behind a lock (a long migration, a runaway query) ends at the limit."""
    from eta.extensions import db

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("statement_timeout is PostgreSQL's")
    bounded = make_app({"SERVER_NAME": None, "ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS": 0.5})
    client = bounded.test_client()
    with bounded.app_context(), db.engine.connect() as locker:
        locker.execute(text("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        response = client.post("/api/v1/applications/status", json=STATUS_QUERY)
        elapsed = time.monotonic() - started
        locker.rollback()
    _assert_unavailable(response, 5, problem=True)
    assert elapsed < 3, elapsed
    # The lock gone, the same request is answered (404: no such application).
    assert client.post("/api/v1/applications/status", json=STATUS_QUERY).status_code == 404


# ---- Redis stopped -----------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A redis-server of the test's own on a spare port; yields its URL and what stops it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(tmp_path)),
        ],
        stdout=subprocess.DEVNULL,
    )
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis(port=port, socket_connect_timeout=0.5)
    for _ in range(100):
        try:
            client.ping()
            break
        except RedisError:  # not up yet
            time.sleep(0.05)

    def stop() -> None:
        server.terminate()
        server.wait(10)

    yield f"redis://127.0.0.1:{port}/0", stop
    if server.poll() is None:
        stop()


def test_with_redis_stopped_pages_degrade_or_503_never_500(
    app, make_app, monkeypatch, own_redis, no_limits
):
    url, stop_redis = own_redis
    monkeypatch.setenv("ETA_REDIS_URL", url)
    broken = make_app({"SERVER_NAME": None, "WTF_CSRF_ENABLED": False})
    from eta.extensions import redis_client

    def needs_redis() -> str:
        redis_client.client.ping()
        return "pong"

    broken.add_url_rule("/api/v1/test-redis", view_func=needs_redis)
    broken.add_url_rule("/test-redis", endpoint="page_needs_redis", view_func=needs_redis)
    client = broken.test_client()
    assert client.get("/test-redis").get_data(as_text=True) == "pong"
    stop_redis()

    _assert_unavailable(client.get("/api/v1/test-redis"), 5, problem=True)
    _assert_unavailable(client.get("/test-redis"), 5, problem=False)
    seen = _walk(client, broken, retry_after=5)
    # Redis holds work to do and counters: a submission still succeeds (its outbox row waits
    # for the relay), the status look-up still answers.
    assert "POST /api/v1/applications" in seen[202]
    assert "POST /api/v1/applications/status" in seen[404]
