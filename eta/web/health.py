"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from eta.extensions import db, redis_client

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is up and serving requests."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The database and Redis are reachable; 503 naming whichever is not."""
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
    down = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "ok" if not down else "unavailable", "checks": checks}
    if down:
        body["detail"] = f"{' and '.join(down)} unreachable"
    return jsonify(body), (503 if down else 200)
