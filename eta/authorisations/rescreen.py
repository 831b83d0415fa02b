"""Re-screening every valid authorisation against the current lists (after a list changes)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from eta import outbox, tasks
from eta.models import Application, ApplicationStatus, Authorisation
from eta.models.base import SessionLike
from eta.timeutil import utcnow


def queue_rescreens(session: SessionLike, *, now: dt.datetime | None = None) -> int:
    """Queue a re-screen of every valid authorisation; returns how many were queued.

    One outbox row each, committed together: with Redis down the re-screens wait for the
    relay instead of being lost. Each call is a new round of re-screens (its own keys).
    """
    now = now or utcnow()
    ids = session.scalars(
        select(Authorisation.application_id)
        .join(Application, Application.id == Authorisation.application_id)
        .where(
            Application.status == ApplicationStatus.APPROVED,
            Authorisation.revoked_at.is_(None),
            Authorisation.valid_until > now,
        )
        .order_by(Authorisation.application_id)
    ).all()
    # Microseconds: two rounds started in the same second are still two rounds.
    stamp = now.strftime("%Y%m%d%H%M%S%f")
    for application_id in ids:
        outbox.add(
            session, tasks.RESCREEN, application_id, key=f"rescreen-{application_id}-{stamp}"
        )
    outbox.commit(session)
    return len(ids)
