"""Issuance job: after approval, create the authorisation and queue the decision email."""

from __future__ import annotations

import datetime as dt
import logging

from eta import authorisations
from eta.extensions import db, redis_client
from eta.models import Application, ApplicationStatus
from eta.outbox import enqueue
from eta.tasks import NOTIFICATIONS
from eta.timeutil import utcnow
from workers.context import app, job

log = logging.getLogger(__name__)


@job
def issue_authorisation(application_id: int) -> str | None:
    """Create the authorisation of approved application ``application_id`` and email it.

    Idempotent: the authorisation row is unique per application, so a second run (or a run
    after a crash) finds it and only makes sure the email is queued. Returns the reference, or
    None when the application is missing or not approved (nothing to issue).
    """
    application = db.session.get(Application, application_id)
    if application is None:
        log.warning("issue_authorisation: no application %s", application_id)
        return None
    authorisation = authorisations.issue_for(db.session, application)
    if authorisation is None:
        log.info(
            "issue_authorisation: %s is %s, not approved", application.reference, application.status
        )
        return None
    if application.status == ApplicationStatus.APPROVED:
        enqueue(
            redis_client.client,
            NOTIFICATIONS,
            "workers.notifications.notify_traveller",
            application_id,
            "approved",
            job_id=f"notify-approved-{application_id}",
        )
    return application.reference


@job
def remove_expired_keys() -> list[str]:
    """Remove retired keys whose every token has expired; returns their kids.

    A key retired at R signed its last token before R, and no token outlives
    ETA_VALIDITY_YEARS, so after R + that many years (and a day's margin for clock skew) no
    valid token needs it. Idempotent: removed keys are skipped.
    """
    years = int(app().config.get("ETA_VALIDITY_YEARS", 2))
    lifetime = dt.timedelta(days=366 * years + 1)
    removed = authorisations.keyring().remove_expired(utcnow(), lifetime)
    for kid in removed:
        log.info("removed signing key %s: every token it signed has expired", kid)
    return removed
