"""Traveller pages: start, status."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

blueprint = Blueprint("traveller", __name__)


@blueprint.get("/")
def start() -> str:
    """The start page: what an ETA is, who needs one, the fee, and how long it takes."""
    return render_template(
        "traveller/start.html",
        fee=current_app.config["ETA_FEE"],
    )


@blueprint.get("/status")
def status() -> str:
    """Check the status of an application."""
    return render_template("traveller/status.html")
