"""Ended staff sessions are deleted after ETA_STAFF_SESSION_RETENTION_DAYS by a periodic job."""

from __future__ import annotations

import datetime as dt
import secrets

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from eta.accounts import sessions
from eta.models import AuditEvent, Carrier, CarrierUser, Officer, StaffSession
from eta.outbox import enqueue
from eta.tasks import MAINTENANCE
from eta.timeutil import utcnow
from workers import maintenance
from workers.periodic import PERIODIC_JOBS

DAY = dt.timedelta(days=1)


def _row(session, owner: dict[str, int], *, created, seen=None, ended=None) -> StaffSession:
    row = StaffSession(
        token_hash=secrets.token_hex(32),
        created_at=created,
        seen_at=seen or created,
        ended_at=ended,
        end_reason=sessions.SIGNED_OUT if ended else None,
        **owner,
    )
    session.add(row)
    session.flush()
    return row


def test_the_job_deletes_what_ended_long_ago_and_keeps_the_rest(app, session, run_jobs, redis):
    now = utcnow()
    officer = Officer(email="o@border.test", password_hash="x", totp_secret="S" * 32)
    carrier = Carrier(name="Prune Air")
    session.add_all([officer, carrier])
    session.flush()
    desk = CarrierUser(carrier_id=carrier.id, email="d@prune.test", password_hash="x")
    session.add(desk)
    session.flush()
    mine, theirs = {"officer_id": officer.id}, {"carrier_user_id": desk.id}
    retention = app.config["ETA_STAFF_SESSION_RETENTION_DAYS"] * DAY

    gone = [
        # Signed out longer ago than the retention.
        _row(session, mine, created=now - retention - 2 * DAY, ended=now - retention - DAY),
        # Never signed out (the browser was closed): idle past its limit, then the retention.
        _row(session, theirs, created=now - retention - 3 * DAY),
    ]
    kept = [
        # Ended, but recently enough to be kept.
        _row(session, mine, created=now - retention, ended=now - retention + DAY),
        # Open and in use.
        _row(session, mine, created=now - dt.timedelta(minutes=5)),
        # Never ended; idle since just inside the retention.
        _row(session, theirs, created=now - retention + DAY),
    ]
    session.commit()
    gone_ids = {row.id for row in gone}
    kept_ids = {row.id for row in kept}

    job = enqueue(redis, MAINTENANCE, maintenance.prune_staff_sessions, job_id="prune-test")
    assert run_jobs((MAINTENANCE,))
    session.expire_all()
    left = set(session.scalars(select(StaffSession.id)))
    assert left == kept_ids
    assert not left & gone_ids
    assert Job.fetch(job.id, connection=redis, serializer=JSONSerializer).return_value() == 2
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "staff_sessions.pruned")
    ).one()
    assert event.details == {"count": 2, "retention_days": retention.days}

    # Idempotent: a second run finds nothing, and records nothing.
    enqueue(redis, MAINTENANCE, maintenance.prune_staff_sessions, job_id="prune-again")
    run_jobs((MAINTENANCE,))
    session.expire_all()
    assert set(session.scalars(select(StaffSession.id))) == kept_ids
    assert (
        len(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == "staff_sessions.pruned")
            ).all()
        )
        == 1
    )


def test_the_retention_comes_from_configuration(app, session, monkeypatch):
    now = utcnow()
    officer = Officer(email="r@border.test", password_hash="x", totp_secret="S" * 32)
    session.add(officer)
    session.flush()
    row = _row(session, {"officer_id": officer.id}, created=now - 3 * DAY, ended=now - 2 * DAY)
    session.commit()
    row_id = row.id
    limits = sessions.Limits(idle=dt.timedelta(minutes=15), absolute=dt.timedelta(hours=8))
    prune = dict(officer_limits=limits, carrier_limits=limits, now=now)
    assert sessions.prune_sessions(session, retention=3 * DAY, **prune) == 0
    assert sessions.prune_sessions(session, retention=DAY, **prune) == 1
    assert session.get(StaffSession, row_id) is None


def test_the_job_is_scheduled_daily():
    periodic = {job.id: job for job in PERIODIC_JOBS}["prune-staff-sessions"]
    assert periodic.func is maintenance.prune_staff_sessions
    assert periodic.queue == MAINTENANCE
    assert periodic.every == 24 * 3600
