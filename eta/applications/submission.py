"""Submitting a validated application: commit it, then queue screening and the receipt email."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from redis.exceptions import RedisError

from eta import applications
from eta.extensions import db, redis_client
from eta.models import Application
from workers.enqueue import enqueue
from workers.queues import NOTIFICATIONS, SCREENING

log = logging.getLogger(__name__)

SCREEN_JOB = "workers.screening.screen_application"
NOTIFY_JOB = "workers.notifications.notify_traveller"


def submit_application(data: dict[str, Any], *, channel: str) -> Application:
    """Save `data` (validate_application's output) as a submitted application, then queue work.

    The application is committed first: if Redis is down the traveller still gets a reference,
    and the screening sweeper picks the application up later.
    """
    application = Application(**data, channel=channel)
    applications.submit(db.session, application)
    try:
        connection = redis_client.client
        enqueue(
            connection,
            SCREENING,
            SCREEN_JOB,
            application.id,
            job_id=f"screen-{application.id}",
        )
        enqueue(
            connection,
            NOTIFICATIONS,
            NOTIFY_JOB,
            application.id,
            "submitted",
            job_id=f"notify-{application.id}-submitted",
        )
    except (RedisError, OSError) as error:
        # Only the id: no personal data in logs.
        log.warning(
            "application %s saved but not queued (%s); the sweeper will queue it",
            application.id,
            type(error).__name__,
        )
    return application


def eligible_nationalities() -> tuple[str, ...]:
    """The nationalities that may apply for an ETA (ETA_ELIGIBLE_NATIONALITIES)."""
    return tuple(current_app.config["ETA_ELIGIBLE_NATIONALITIES"])


def languages() -> tuple[str, ...]:
    """The languages the service speaks (ETA_LANGUAGES), lower case."""
    return tuple(code.lower() for code in current_app.config["ETA_LANGUAGES"])
