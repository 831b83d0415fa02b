"""Server-side sessions of staff (officers, carrier check-in staff): opened, checked, ended.

The browser's signed cookie holds a random session id; the database keeps its SHA-256 in a
:class:`~eta.models.StaffSession` row, the only place a session is open or not. So signing out
ends the session itself, not only the browser's copy of the cookie: a copied cookie opens
nothing afterwards. Each request checks the row against an idle limit and an absolute limit
(per kind of staff, from configuration) and ends it with the reason when one is passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, or_, select, update

from eta import audit
from eta.models import CarrierUser, Officer, StaffSession
from eta.models.base import SessionLike

SIGNED_OUT = "signed_out"
EVERYWHERE = "everywhere"
IDLE = "idle"
EXPIRED = "expired"
DEACTIVATED = "deactivated"
# seen_at is written at most this often per session: the idle limit is minutes, and a write per
# page view (or per check at the carrier desk) would cost more than it tells.
SEEN_RESOLUTION = dt.timedelta(seconds=30)

Staff = Officer | CarrierUser


@dataclass(frozen=True)
class Limits:
    """How long a session may sit idle, and how long it may last at all."""

    idle: dt.timedelta
    absolute: dt.timedelta


@dataclass(frozen=True)
class Check:
    """The outcome of checking a session id: the open session, or why there is none."""

    session: StaffSession | None
    ended: str | None = None  # IDLE or EXPIRED when this check ended it


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _kind(account: Staff) -> str:
    return "officer" if isinstance(account, Officer) else "carrier_user"


def _owner(account: Staff) -> dict[str, int]:
    if isinstance(account, Officer):
        return {"officer_id": account.id}
    return {"carrier_user_id": account.id}


def open_session(
    session: SessionLike, account: Staff, *, now: dt.datetime
) -> tuple[str, StaffSession]:
    """Open a session for `account` (signed in just now): the id for the cookie, and its row.

    Writes the row and the ``<kind>.signed_in`` audit record; the caller commits (with the
    sign-in's other changes, so they stand or fall together).
    """
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=_hash(token), created_at=now, seen_at=now, **_owner(account))
    session.add(row)
    audit.record(
        session,
        f"{_kind(account)}.signed_in",
        actor=f"{_kind(account)}:{account.id}",
        object_type=_kind(account),
        object_id=account.id,
    )
    return token, row


def check_session(
    session: SessionLike, token: object, limits: Limits, *, now: dt.datetime
) -> Check:
    """The open session `token` names, its last-seen time brought up to `now`; commits.

    Unknown, ended or malformed ids give no session. A session past its idle or absolute limit
    is ended here (reason IDLE or EXPIRED, in :attr:`Check.ended`, so the page can say why).
    """
    if not isinstance(token, str) or not 0 < len(token) <= 100:
        return Check(None)
    row = session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None)
        )
    )
    if row is None:
        return Check(None)
    reason = None
    if now - row.created_at >= limits.absolute:
        reason = EXPIRED
    elif now - row.seen_at >= limits.idle:
        reason = IDLE
    if reason is not None:
        row.ended_at, row.end_reason = now, reason
        session.commit()
        return Check(None, ended=reason)
    if now - row.seen_at >= SEEN_RESOLUTION:
        row.seen_at = now
        session.commit()
    return Check(row)


def end_session(session: SessionLike, token: object, *, now: dt.datetime) -> None:
    """End the session `token` names (sign-out on this browser), with its audit record; commits."""
    if not isinstance(token, str):
        return
    row = session.scalar(
        select(StaffSession).where(
            StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None)
        )
    )
    if row is None:
        return
    row.ended_at, row.end_reason = now, SIGNED_OUT
    account_id = row.officer_id if row.officer_id is not None else row.carrier_user_id
    kind = "officer" if row.officer_id is not None else "carrier_user"
    audit.record(
        session,
        f"{kind}.signed_out",
        actor=f"{kind}:{account_id}",
        object_type=kind,
        object_id=account_id,
    )
    session.commit()


def end_all_sessions(
    session: SessionLike,
    account: Staff,
    *,
    actor: str,
    now: dt.datetime,
    reason: str = EVERYWHERE,
) -> int:
    """End every open session of `account` ("sign out everywhere", a leaver); returns how many.

    Writes the ``<kind>.sessions_ended`` audit record. Nothing is committed here, so a
    deactivation can end the sessions in its own transaction.
    """
    owner = _owner(account)
    column = StaffSession.officer_id if "officer_id" in owner else StaffSession.carrier_user_id
    ended = session.execute(
        update(StaffSession)
        .where(column == account.id, StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session,
        f"{_kind(account)}.sessions_ended",
        actor=actor,
        object_type=_kind(account),
        object_id=account.id,
        details={"reason": reason},
    )
    return int(ended.rowcount)  # type: ignore[attr-defined]


def prune_sessions(
    session: SessionLike,
    *,
    retention: dt.timedelta,
    officer_limits: Limits,
    carrier_limits: Limits,
    now: dt.datetime,
    actor: str = "system",
) -> int:
    """Delete the sessions that ended longer than `retention` ago; commits; returns how many.

    A session no request ever ended (the browser was closed) is over once its idle or
    absolute limit passed, and is deleted `retention` after that too. Open sessions are
    never touched. One ``staff_sessions.pruned`` audit event gives the count; each session's
    own events (signed in, signed out) stay in the audit log.
    """
    cutoff = now - retention
    over: list[ColumnElement[bool]] = [StaffSession.ended_at < cutoff]
    for column, limits in (
        (StaffSession.officer_id, officer_limits),
        (StaffSession.carrier_user_id, carrier_limits),
    ):
        over.append(
            and_(
                StaffSession.ended_at.is_(None),
                column.is_not(None),
                or_(
                    StaffSession.seen_at < cutoff - limits.idle,
                    StaffSession.created_at < cutoff - limits.absolute,
                ),
            )
        )
    deleted = session.execute(
        delete(StaffSession).where(or_(*over)).execution_options(synchronize_session=False)
    )
    count = int(deleted.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        audit.record(
            session,
            "staff_sessions.pruned",
            actor=actor,
            object_type="staff_session",
            details={"count": count, "retention_days": retention.days},
        )
    session.commit()
    return count
