"""Screening jobs: screen an application, re-screen an authorisation, sweep up stuck work.

Thin: load by id, call eta.screening, decide through eta.applications. Idempotent: the status
says what is left to do, and Application's optimistic lock (its version column) lets only one of
two concurrent runs record a decision; the loser writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

from flask import current_app
from redis.exceptions import RedisError
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException
from sqlalchemy import select

from eta import applications, audit, outbox, tasks
from eta.chip.settings import ChipSettings
from eta.extensions import db, redis_client
from eta.identity.settings import PhotoSettings
from eta.models import Application, Authorisation, CheckName
from eta.models import ApplicationStatus as S
from eta.outbox import enqueue
from eta.partners.current import feed_keys
from eta.partners.feedkeys import EpochKey
from eta.screening import service
from eta.tasks import ISSUANCE, SCREENING
from eta.timeutil import utcnow
from workers.context import job

log = logging.getLogger(__name__)

ISSUE_JOB = "workers.issuance.issue_authorisation"
SCREEN_JOB = "workers.screening.screen_application"
# Test-only: seconds to sleep once screening has started (fault drills kill the worker then).
TEST_DELAY_VARIABLE = "ETA_TEST_SCREENING_DELAY"


def screen_job_id(application_id: int) -> str:
    """The job id of an application's screening: one waiting job per application."""
    return f"screen-{application_id}"


def _threshold() -> float:
    return float(current_app.config.get("ETA_MATCH_THRESHOLD", service.names.DEFAULT_THRESHOLD))


def _check_timeout() -> float:
    return float(current_app.config["ETA_CHECK_TIMEOUT_SECONDS"])


def _partner_keys() -> list[EpochKey]:
    """The partners' feed keys we hold, for the lost/stolen check (a few small files)."""
    return feed_keys().partner_keys()


def _retries_left() -> bool:
    current = get_current_job()
    return bool(current is not None and (current.retries_left or 0) > 0)


def _enqueue_issuance(application_id: int) -> None:
    try:
        enqueue(
            redis_client.client,
            ISSUANCE,
            ISSUE_JOB,
            application_id,
            job_id=f"issue-{application_id}",
        )
    except RedisError:
        # The application is approved in the database; the sweeper enqueues issuance later.
        log.warning("could not enqueue issuance of application %s", application_id)


def _test_delay() -> None:
    if current_app.config.get("TESTING"):
        delay = float(os.environ.get(TEST_DELAY_VARIABLE) or 0)
        if delay > 0:
            time.sleep(delay)


@job
def screen_application(application_id: int) -> str:
    """Screen one application and decide: approved (then issuance) or referred to an officer.

    Returns the application's status afterwards. Safe to run twice or after a crash: the
    checks only read, and the move to screening, the run with its hits and the decision are
    committed in one transaction, so a run killed midway leaves the application submitted (the
    sweeper enqueues it again) and of two concurrent runs only one commits.
    """
    session = db.session
    application = session.get(Application, application_id)
    if application is None:
        return "missing"
    if application.status == S.APPROVED:
        _ensure_issuance(application)
    # SCREENING too: an application a worker of an earlier release left between the two steps.
    if application.status not in (S.SUBMITTED, S.SCREENING):
        return str(application.status)
    _test_delay()

    context = service.ScreeningContext(
        session,
        application,
        _threshold(),
        utcnow().date(),
        statement_timeout=_check_timeout(),
        partner_keys=_partner_keys(),
        photo_settings=PhotoSettings.from_config(current_app.config),
        chip_settings=ChipSettings.from_config(current_app.config),
    )
    try:
        result = service.screen(
            session,
            application,
            threshold=context.threshold,
            today=context.today,
            retry_transient=_retries_left(),
            context=context,
        )
    except JobTimeoutException:
        session.rollback()
        running = context.current_check or CheckName.CHECK_FAILED
        result = service.ScreeningResult(
            [service.check_failed(running, "timed out")], dict(context.list_versions)
        )
    return _decide(application, result)


def _decide(application: Application, result: service.ScreeningResult) -> str:
    """Record the run and the decision in one transaction, unless another run got there first.

    The application moves with one UPDATE guarded by its version and status
    (`applications.advance`), which matches no row when anyone changed the application since
    this job loaded it: another run's decision, a withdrawal. Nothing is written then.
    """
    session = db.session
    application_id = application.id
    decision = S.APPROVED if result.clear else S.REFERRED
    # A check that failed rolled the session back: the status is then read again here.
    if application.status == S.SUBMITTED:
        path = [S.SCREENING, decision]
    elif application.status == S.SCREENING:
        path = [decision]
    else:
        return str(application.status)  # another run decided meanwhile
    deadline = None
    if decision == S.REFERRED:
        hours = int(current_app.config["ETA_DECISION_HOURS"])
        deadline = utcnow() + dt.timedelta(hours=hours)
    moved = applications.advance(
        session,
        application,
        path,
        # Generic on purpose: events may reach the traveller's timeline, and which check fired
        # (a watchlist above all) is for officers only.
        reason_code=None if result.clear else "screening_hit",
        decision_deadline=deadline,
        # The run and its hits are written with the decision, only if it is made.
        attach=service.run_record(application, result, purpose=service.INITIAL),
    )
    if not moved:
        session.rollback()
        current = session.get(Application, application_id)  # what the winner made of it
        return "missing" if current is None else str(current.status)
    if decision == S.APPROVED:
        # Issuance is an outbox row of the approval's own transaction: with Redis down at
        # this moment the relay queues it later; it cannot be lost.
        outbox.add(session, tasks.ISSUE, application_id, key=f"issue-{application_id}")
    outbox.finish_current(session)
    outbox.commit(session)
    return str(decision)


def _ensure_issuance(application: Application) -> None:
    if application.authorisation is None:
        _enqueue_issuance(application.id)


@job
def rescreen_authorisation(application_id: int) -> int:
    """Re-screen a valid authorisation against the current lists; flag it on a new hit.

    Records a ScreeningRun with purpose "rescreen". A hit no earlier run found sets the
    authorisation's flagged_at for an officer to look at; nothing is revoked and the
    application's status does not change. Returns how many new hits were found.
    """
    session = db.session
    application = session.get(Application, application_id)
    if application is None or application.status != S.APPROVED:
        return 0
    authorisation = application.authorisation
    if authorisation is None or authorisation.revoked_at is not None:
        return 0
    seen = service.earlier_findings(session, application.id)
    result = service.screen(
        session,
        application,
        threshold=_threshold(),
        only=service.LIST_CHECKS,
        retry_transient=_retries_left(),
        statement_timeout=_check_timeout(),
        partner_keys=_partner_keys(),
    )
    service.record_run(session, application, result, purpose=service.RESCREEN)
    new = [f for f in result.findings if f.identity() not in seen]
    if new and authorisation.flagged_at is None:
        authorisation.flagged_at = utcnow()
        audit.record(
            session,
            "authorisation.flagged",
            actor="system",
            object_type="application",
            object_id=application.reference,
            details={"new_hits": len(new), "checks": sorted({f.check.value for f in new})},
        )
    session.commit()
    return len(new)


def _stale_started(job_id: str, older_than: dt.datetime) -> bool:
    """True when the job was started before `older_than` and is still marked as running."""
    try:
        existing = Job.fetch(job_id, connection=redis_client.client, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    if existing.get_status(refresh=True) != JobStatus.STARTED:
        return False
    started = existing.started_at
    if started is None:
        return True
    if started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return started < older_than


@job
def sweep_stuck_applications() -> int:
    """Re-enqueue screening of applications stuck in submitted or screening, and issuance of
    approved applications without an authorisation. Returns how many jobs it enqueued.

    A job whose worker died (SIGKILL, power loss) stays marked as started in Redis; once it is
    older than ETA_STUCK_AFTER_SECONDS it is dropped and enqueued afresh. Should the original
    still be alive after all, the optimistic lock lets only one of them decide.
    """
    session = db.session
    cutoff = utcnow() - dt.timedelta(seconds=int(current_app.config["ETA_STUCK_AFTER_SECONDS"]))
    stuck = session.scalars(
        select(Application.id)
        .where(
            Application.status.in_((S.SUBMITTED, S.SCREENING)),
            Application.status_changed_at <= cutoff,
        )
        .order_by(Application.id)
        .limit(1000)
    ).all()
    count = 0
    for application_id in stuck:
        job_id = screen_job_id(application_id)
        if _stale_started(job_id, cutoff):
            Job(job_id, connection=redis_client.client, serializer=JSONSerializer).delete()
        enqueue(redis_client.client, SCREENING, SCREEN_JOB, application_id, job_id=job_id)
        count += 1
    unissued = session.scalars(
        select(Application.id)
        .outerjoin(Authorisation, Authorisation.application_id == Application.id)
        .where(
            Application.status == S.APPROVED,
            Application.status_changed_at <= cutoff,
            Authorisation.id.is_(None),
        )
        .order_by(Application.id)
        .limit(1000)
    ).all()
    for application_id in unissued:
        enqueue(
            redis_client.client,
            ISSUANCE,
            ISSUE_JOB,
            application_id,
            job_id=f"issue-{application_id}",
        )
        count += 1
    return count
