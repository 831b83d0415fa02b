"""Housekeeping jobs: authorisations that ran out, journeys abandoned long ago, retention, and
the audit log's sequencer."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, select

from eta import applications
from eta.extensions import db
from eta.models import Application, ApplicationDraft, ApplicationStatus, Authorisation
from eta.timeutil import utcnow
from workers.context import app, job


@job
def expire_authorisations() -> int:
    """Move approved applications whose authorisation's validity has ended to `expired`.

    Idempotent: an application already expired is no longer `approved`, so a second run (or a
    run after a crash) finds nothing left to do. Returns how many were expired.
    """
    now = utcnow()
    rows = db.session.scalars(
        select(Application)
        .join(Authorisation, Authorisation.application_id == Application.id)
        .where(Application.status == ApplicationStatus.APPROVED, Authorisation.valid_until <= now)
        .limit(1000)
    ).all()
    for application in rows:
        applications.expire(db.session, application, commit=False)
    db.session.commit()
    return len(rows)


@job
def purge_expired_drafts() -> int:
    """Delete unsubmitted journeys whose resume link has expired; returns how many."""
    result = db.session.execute(
        delete(ApplicationDraft).where(
            ApplicationDraft.expires_at <= utcnow(), ApplicationDraft.application_id.is_(None)
        )
    )
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# The job's RQ timeout is 180 s (eta.outbox): no batch starts after this many seconds,
# and the next day's run goes on where this one stopped.
RETENTION_TIME_LIMIT = 120.0


@job
def erase_personal_data() -> int:
    """Erase the personal data of applications past their retention limit (applications.retention).

    Batches of BATCH_SIZE, each one transaction with its own `retention.erased` audit event;
    idempotent (erased rows are no longer due). Returns how many applications were erased.
    Also deletes the idempotency keys of API submissions whose lifetime has ended.
    """
    from eta.applications.idempotency import purge_expired
    from eta.applications.retention import erase_due

    result = erase_due(db.session, time_limit=RETENTION_TIME_LIMIT)
    purge_expired(db.session)
    return result.applications


@job
def lapse_information_requests() -> int:
    """Return to the officers' queue every case whose questions went unanswered in time."""
    from eta.applications import decisions

    return decisions.lapse_information(
        db.session, days=int(current_app.config["ETA_INFORMATION_DAYS"])
    )


@job
def prune_staff_sessions() -> int:
    """Delete staff sessions ended more than ETA_STAFF_SESSION_RETENTION_DAYS ago; how many."""
    import datetime as dt

    from eta.accounts import sessions

    config = current_app.config

    def limits(kind: str) -> sessions.Limits:
        return sessions.Limits(
            idle=dt.timedelta(seconds=int(config[f"ETA_{kind}_IDLE_SECONDS"])),
            absolute=dt.timedelta(seconds=int(config[f"ETA_{kind}_ABSOLUTE_SECONDS"])),
        )

    return sessions.prune_sessions(
        db.session,
        retention=dt.timedelta(days=int(config["ETA_STAFF_SESSION_RETENTION_DAYS"])),
        officer_limits=limits("OFFICER"),
        carrier_limits=limits("CARRIER"),
        now=utcnow(),
    )


@job
def relay_outbox() -> int:
    """Push every due outbox row to RQ: what Redis was down for, or lost. Returns how many."""
    from eta import outbox
    from eta.extensions import redis_client

    return outbox.relay(db.session, redis_client.client)


@job
def sequence_audit_log() -> int:
    """Place committed audit events in the Merkle tree and sign a checkpoint (eta.audit.sequencer).

    One sequencer at a time by its lease in the database: a second one running at the same time
    returns at once, and one that died mid-batch committed nothing, so the next tick's redoes
    its work. Returns how many events this run sequenced.
    """
    from eta.audit import sequencer
    from eta.audit.checkpoints import log_signer

    keyring, origin = log_signer(app().config)
    return sequencer.run(db.session, keyring, origin).sequenced
