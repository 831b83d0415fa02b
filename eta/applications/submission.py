"""Submitting a validated application: commit it with its screening and receipt email."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from eta import applications, outbox, tasks
from eta.extensions import db
from eta.models import Application

log = logging.getLogger(__name__)


def submit_application(data: dict[str, Any], *, channel: str) -> Application:
    """Save `data` (validate_application's output) as a submitted application, with its work.

    Screening and the receipt email are outbox rows committed with the application, so a
    Redis that is down (or loses its data) delays them and never loses them.
    """
    application = Application(**data, channel=channel)
    applications.submit(db.session, application, commit=False)
    db.session.flush()
    outbox.add(db.session, tasks.SCREEN, application.id, key=f"screen-{application.id}")
    outbox.add(
        db.session,
        tasks.NOTIFY,
        application.id,
        "submitted",
        key=f"notify-{application.id}-submitted",
    )
    outbox.commit(db.session)
    return application


def eligible_nationalities() -> tuple[str, ...]:
    """The nationalities that may apply for an ETA (ETA_ELIGIBLE_NATIONALITIES)."""
    return tuple(current_app.config["ETA_ELIGIBLE_NATIONALITIES"])


def languages() -> tuple[str, ...]:
    """The languages the service speaks (ETA_LANGUAGES), lower case."""
    return tuple(code.lower() for code in current_app.config["ETA_LANGUAGES"])
