"""The supervisors' dashboard: throughput, timeliness and fairness, as SVG charts and tables."""

from __future__ import annotations

from flask import render_template

from eta.models import Role
from eta.officer.blueprint import blueprint, role_required


@blueprint.get("/dashboard")
@role_required(Role.SUPERVISOR)
def dashboard() -> str:
    """Applications per day, approval rate, referrals, decision times, fairness."""
    return render_template("officer/dashboard.html")
