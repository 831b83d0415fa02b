"""Flask extensions, created here without an app and bound to it in create_app()."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis import Redis
from sqlalchemy import Engine, event, make_url

from eta.models.base import Base
from eta.redis_connection import connect_configured, embedded_url, ensure_embedded

# Every engine (the app's and the carrier API's bind): a failed statement's error shows its SQL,
# never its values. Parameters carry passport numbers and names, and the error goes to the logs.
db = SQLAlchemy(model_class=Base, engine_options={"hide_parameters": True})
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Storage is configured per app (Redis); the default limits apply to nothing until a view asks.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def configured_limit(name: str) -> Callable[[], str]:
    """A rate limit read from the app's setting `name` at each request (config/settings.py)."""

    def limit() -> str:
        return str(current_app.config[name])

    limit.__name__ = f"limit_{name.lower()}"
    return limit


class RedisClient:
    """The app's Redis client, connected lazily through Sentinel (ETA_REDIS_SENTINELS), to
    ETA_REDIS_URL, or to the embedded server."""

    def __init__(self) -> None:
        self._clients: dict[int, Redis] = {}

    def init_app(self, app: Flask) -> None:
        """Resolve the Redis URL for this app (starting the embedded server if none is set)."""
        if not app.config.get("ETA_REDIS_URL") and not app.config.get("ETA_REDIS_SENTINELS"):
            # Started on first use, so `eta db upgrade` and friends do not start a server.
            app.config["ETA_REDIS_URL"] = embedded_url(Path(app.instance_path))
            app.config["ETA_REDIS_EMBEDDED"] = True

            @app.before_request
            def start_embedded_redis() -> None:
                ensure_embedded(Path(app.instance_path))

        app.extensions["eta.redis"] = self

    @property
    def client(self) -> Redis:
        """The Redis client of the current app."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        key = id(app)
        if key not in self._clients:
            if app.config.get("ETA_REDIS_EMBEDDED"):
                ensure_embedded(Path(app.instance_path))
            self._clients[key] = connect_configured(app.config)
        return self._clients[key]


redis_client = RedisClient()


def database_connect_args(config: Mapping[str, Any], url: str) -> dict[str, Any]:
    """The DBAPI connect arguments that bound how long the database at `url` can hold a request.

    PostgreSQL: libpq's `connect_timeout` (ETA_DATABASE_CONNECT_TIMEOUT_SECONDS; a server that
    accepts the TCP connection and never answers, or a host that drops packets, fails the
    connection instead of hanging it) and the session's `statement_timeout`
    (ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS; 0: none), sent as startup options so they cost no
    round trip. A screening check's own, shorter limit (SET LOCAL) still applies inside its
    transaction. Other databases: nothing (SQLite waits 5 s for a lock by default).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return {}
    arguments: dict[str, Any] = {
        "connect_timeout": int(config["ETA_DATABASE_CONNECT_TIMEOUT_SECONDS"]),
    }
    milliseconds = round(float(config["ETA_DATABASE_STATEMENT_TIMEOUT_SECONDS"]) * 1000)
    if milliseconds:
        # Keep any options the URL itself carries (`?options=-c search_path=...`): connect_args
        # would replace them.
        given = parsed.query.get("options")
        given_text = " ".join(given) if isinstance(given, tuple) else (given or "")
        arguments["options"] = f"{given_text} -c statement_timeout={milliseconds}".strip()
    return arguments


def bounded_engine_options(config: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """`options` (an engine's, or a bind's) with :func:`database_connect_args` merged in.

    Connect arguments already in `options` win: a test or a deployment that sets its own keeps
    them.
    """
    url = str(options.get("url") or config["SQLALCHEMY_DATABASE_URI"])
    connect_args = {**database_connect_args(config, url), **options.get("connect_args", {})}
    if not connect_args:
        return dict(options)
    return {**options, "connect_args": connect_args}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers and the writer do not block each other (the web app and a worker), and a
        # commit appends to the log instead of rewriting pages. NORMAL: a commit does not wait
        # for fsync (~2 ms each); a power cut may lose the last commits but never corrupts the
        # database. SQLite is for development and tests; production runs PostgreSQL.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def configure_sqlite(engine: Engine) -> None:
    """Give every new connection of a SQLite engine WAL mode and synchronous=NORMAL.

    A no-op for other databases. Call it before the engine's first connection.
    """
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
