"""The officer back office: sign-in with MFA, the case queue, decisions, lists, rules, audit."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Set up officer sign-in and register the officer blueprint."""
    from eta.officer import (  # noqa: F401  (routes register)
        admin,
        cases,
        chip,
        dashboard,
        lists,
        photos,
        search,
    )
    from eta.officer.auth import init_login
    from eta.officer.blueprint import blueprint

    init_login(app)
    app.register_blueprint(blueprint)
