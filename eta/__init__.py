"""eta: an open-source Electronic Travel Authorisation system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the eta Flask app: configuration, extensions, blueprints, CLI and error handlers."""
    from config import load_settings
    from eta import carrier, cli
    from eta.api import blueprint as api_blueprint
    from eta.extensions import (
        bounded_engine_options,
        configure_sqlite,
        csrf,
        db,
        limiter,
        migrate,
        redis_client,
    )
    from eta.officer import init_app as init_officer
    from eta.public import blueprint as public_blueprint
    from eta.redis_connection import limiter_storage
    from eta.traveller import blueprint as traveller_blueprint
    from eta.traveller import information_blueprint, review_blueprint
    from eta.web import edge, errors, i18n, logs, metrics, security, sessions
    from eta.web.health import blueprint as health_blueprint

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    app.session_interface = sessions.PageSessionInterface()
    app.config.from_mapping(load_settings(Path(app.instance_path)))
    if test_config:
        app.config.from_mapping(test_config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        "pool_pre_ping": bool(app.config.get("ETA_DATABASE_PRE_PING", True)),
    }
    carrier.configure_engine(app)
    # Every engine (the app's and each bind's) connects and runs statements within bounds: a
    # database that is down or stuck answers 503 in seconds (eta.web.errors), never hangs.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = bounded_engine_options(
        app.config, app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    )
    app.config["SQLALCHEMY_BINDS"] = {
        name: bounded_engine_options(app.config, bind if isinstance(bind, dict) else {"url": bind})
        for name, bind in app.config["SQLALCHEMY_BINDS"].items()
    }
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["ETA_ENV"] == "production":
        from eta.authorisations.pdf_signing import check_production

        # Fail at start, in one line, rather than at the first traveller's download.
        check_production(app.config)
    proxies = int(app.config["ETA_TRUSTED_PROXIES"])
    if proxies:
        # The client's address and scheme as the trusted proxies saw them: rate limits count
        # travellers, not the proxy, and redirects and cookies know the request was HTTPS.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies
        )

    # JSON lines on stderr, each with its request id (docs/operations.md, "Logs").
    logs.configure(app.config["ETA_LOG_FORMAT"], app.config["ETA_LOG_LEVEL"])

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite(engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    redis_client.init_app(app)
    if "RATELIMIT_STORAGE_URI" not in app.config:
        uri, options = limiter_storage(app.config)
        app.config["RATELIMIT_STORAGE_URI"] = uri
        app.config["RATELIMIT_STORAGE_OPTIONS"] = options
    limiter.init_app(app)
    edge.init_app(app)  # before the blueprints: their <int:...> routes use its converter
    metrics.init_app(app)  # after edge: its timer and request id come before edge's checks
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)

    app.register_blueprint(health_blueprint)
    app.register_blueprint(traveller_blueprint)
    app.register_blueprint(information_blueprint)
    app.register_blueprint(review_blueprint)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(public_blueprint)
    app.register_blueprint(carrier.blueprint)
    app.register_blueprint(carrier.api_blueprint)
    init_officer(app)
    cli.init_app(app)
    return app
