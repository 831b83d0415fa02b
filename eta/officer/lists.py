"""Supervisor pages: watchlist sources and manual entries, risk rules with dry runs."""

from __future__ import annotations

from flask import render_template

from eta.models import Role
from eta.officer.blueprint import blueprint, role_required


@blueprint.get("/watchlists")
@role_required(Role.SUPERVISOR)
def watchlists() -> str:
    """Watchlist sources with their versions and counts."""
    return render_template("officer/watchlists.html", sources=[])


@blueprint.get("/rules")
@role_required(Role.SUPERVISOR)
def rules() -> str:
    """Risk rules with their versions."""
    return render_template("officer/rules.html", rules=[])
