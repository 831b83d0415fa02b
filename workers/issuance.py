"""Issuance job: after approval, create the authorisation and queue the decision email."""

from __future__ import annotations

import datetime as dt
import logging

from rq import get_current_job

from eta import applications, authorisations
from eta.extensions import db
from eta.models import Application
from eta.tasks import NOTIFY
from eta.timeutil import utcnow
from workers.context import app, job

log = logging.getLogger(__name__)


def _retries_left() -> bool:
    current = get_current_job()
    return bool(current is not None and (current.retries_left or 0) > 0)


def _refer(application: Application, cause: str) -> None:
    """Send the approval that cannot be issued to an officer, with the cause on its event."""
    session = db.session
    session.rollback()
    application = session.get(Application, application.id) or application
    hours = int(app().config["ETA_DECISION_HOURS"])
    try:
        applications.issuance_failed(
            session, application, cause=cause, deadline=utcnow() + dt.timedelta(hours=hours)
        )
    except applications.LifecycleError:
        session.rollback()  # issued or changed meanwhile: nothing to refer
        return
    log.warning("issuance of %s failed, referred to an officer", application.reference)


@job
def issue_authorisation(application_id: int) -> str | None:
    """Create the authorisation of approved application ``application_id`` and email it.

    Idempotent: the authorisation row is unique per application, so a second run (or a run
    after a crash) finds it and does nothing more. The approval email is an outbox row written
    with the authorisation. An approval that cannot be issued is referred to an officer
    (reason `issuance_failed`, the cause on the event): at once when the failure is
    permanent (IssuanceError), after the job's bounded retries when it is not. Returns the
    reference, or None when nothing was issued.
    """
    application = db.session.get(Application, application_id)
    if application is None:
        log.warning("issue_authorisation: no application %s", application_id)
        return None
    try:
        authorisation = authorisations.issue_for(
            db.session,
            application,
            follow=[(NOTIFY, (application_id, "approved"), f"notify-approved-{application_id}")],
        )
    except authorisations.IssuanceError as error:
        _refer(application, str(error))
        return None
    except Exception as error:
        if _retries_left():
            raise
        _refer(application, f"issuance failed after retries: {type(error).__name__}")
        return None
    if authorisation is None:
        log.info(
            "issue_authorisation: %s is %s, not approved", application.reference, application.status
        )
        return None
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
