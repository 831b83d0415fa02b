"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import func, select, text

from eta.extensions import db, redis_client
from eta.models import WatchlistSource

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is up and serving requests."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The database and Redis are reachable and a watchlist is loaded; else 503 naming why."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # any failure means not ready; the kind of failure is for the logs
        db.session.rollback()
        checks["database"] = "unavailable"
    try:
        redis_client.client.ping()
        checks["redis"] = "ok"
    except Exception:  # connection refused, timeout, auth: all mean Redis is not usable
        checks["redis"] = "unavailable"
    if checks["database"] == "ok":
        # Screening refers every applicant while no watchlist is loaded: not ready to serve.
        loaded = db.session.scalar(
            select(func.count()).where(WatchlistSource.active_version_id.is_not(None))
        )
        checks["watchlist"] = "ok" if loaded else "no watchlist loaded"
    down = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "ok" if not down else "unavailable", "checks": checks}
    if down:
        body["detail"] = "; ".join(
            f"{name}: {'unreachable' if checks[name] == 'unavailable' else checks[name]}"
            for name in down
        )
    return jsonify(body), (503 if down else 200)
