"""The application lifecycle: the one place where an application's status changes.

Views, jobs and CLI commands call these verbs; none of them sets `status` by hand. Each change
checks the transition is allowed, writes an event row and an audit event, and commits.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from eta import audit
from eta.applications.retention import ENDED, erase_after
from eta.models import (
    Actor,
    Application,
    ApplicationEvent,
    Decision,
    DecisionKind,
    DecisionState,
    ReviewOutcome,
    ReviewRequest,
)
from eta.models import ApplicationStatus as S
from eta.models.base import SessionLike
from eta.timeutil import utcnow

# Every legal move. Anything else is a LifecycleError: the database's check constraint guards
# the value, this table guards the path.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.SUBMITTED: frozenset({S.SCREENING, S.WITHDRAWN}),
    S.SCREENING: frozenset({S.APPROVED, S.REFERRED, S.WITHDRAWN}),
    S.REFERRED: frozenset({S.APPROVED, S.REFUSED, S.INFO_REQUESTED, S.WITHDRAWN}),
    S.INFO_REQUESTED: frozenset({S.REFERRED, S.WITHDRAWN}),
    # APPROVED → REFERRED only while no authorisation exists: issuance failed (see below).
    S.APPROVED: frozenset({S.REVOKED, S.EXPIRED, S.REFERRED}),
    # REFUSED → REFERRED only when the traveller asks for a review (eta.applications.review).
    S.REFUSED: frozenset({S.REFERRED}),
    S.REVOKED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.EXPIRED: frozenset(),
}

# Statuses an officer's decision can still change (the traveller may withdraw in these).
UNDECIDED = frozenset({S.SUBMITTED, S.SCREENING, S.REFERRED, S.INFO_REQUESTED})

# References: 10 characters from an alphabet without 0/O/1/I (and U/V/L to avoid words and
# misreadings), grouped for reading aloud. 27^10 ≈ 2^47: unguessable for a status look-up that
# also needs the passport number and date of birth.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
REFERENCE_LENGTH = 10


class LifecycleError(Exception):
    """An illegal status change was asked for."""


class RefusalPending(LifecycleError):
    """A refusal proposed on the case waits for a second officer: no other decision may pass."""


class RefusalNotConfirmed(LifecycleError):
    """A refusal without a second officer's confirmation (four eyes) was asked for."""


# Moves an officer makes on a case that a pending refusal proposal blocks until a second
# officer confirms or rejects it: otherwise approving (or revoking, or asking the traveller)
# would quietly bypass four eyes, and the proposal would linger, unseen, on a decided case.
BLOCKED_BY_PROPOSAL = frozenset({S.APPROVED, S.REVOKED, S.INFO_REQUESTED})


def new_reference() -> str:
    """Return a fresh random reference like ETA-7KQ2-MX9P-4D (not yet checked for uniqueness)."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"ETA-{body[:4]}-{body[4:8]}-{body[8:]}"


def normalise_reference(text: str) -> str:
    """Turn what a traveller typed into the canonical reference form (case, spaces, dashes)."""
    body = "".join(ch for ch in text.upper() if ch.isalnum())
    body = body.removeprefix("ETA")
    if len(body) != REFERENCE_LENGTH:
        return text.strip().upper()
    return f"ETA-{body[:4]}-{body[4:8]}-{body[8:]}"


# The unique constraint on applications.reference (migration 0001): a reference drawn twice
# is refused by the database at INSERT, so submission never looks a reference up first.
REFERENCE_CONSTRAINT = "uq_applications_reference"


def reference_taken(error: IntegrityError) -> bool:
    """Whether `error` is the database refusing a reference some application already has.

    A fresh reference is drawn from 29**10 (about 4e14) values, so this is rare enough that
    checking it beforehand (a SELECT per submission) costs more than retrying the transaction.
    """
    diagnostics = getattr(error.orig, "diag", None)  # psycopg names the constraint it hit
    if diagnostics is not None:
        return getattr(diagnostics, "constraint_name", None) == REFERENCE_CONSTRAINT
    # SQLite names the columns instead: "UNIQUE constraint failed: applications.reference".
    return "applications.reference" in str(error.orig)


def _actor_label(actor: Actor, officer_id: int | None) -> str:
    return f"officer:{officer_id}" if officer_id is not None else actor.value


def _record(
    session: SessionLike,
    application: Application,
    to: S,
    *,
    actor: Actor,
    officer_id: int | None,
    reason_code: str | None,
    note: str | None,
    from_status: S | None,
) -> None:
    now = utcnow()
    application.status = to
    application.status_changed_at = now
    if to in ENDED:
        # The retention clock starts where the application ends: set here, with the move that
        # ends it, so the purge job only compares one indexed column with the time.
        application.erase_after = erase_after(_end_of(application, to, now))
    session.add(
        ApplicationEvent(
            application=application,
            at=now,
            from_status=from_status,
            to_status=to,
            actor=actor,
            officer_id=officer_id,
            reason_code=reason_code,
            note=note,
        )
    )
    audit.record(
        session,
        f"application.{to.value}",
        actor=_actor_label(actor, officer_id),
        object_type="application",
        object_id=application.reference,
        details={"from": from_status.value if from_status else None, "reason": reason_code},
    )


def _end_of(application: Application, to: S, now: dt.datetime) -> dt.datetime:
    """When an application moving to `to` (one of ENDED) ends, for the retention limit.

    An expiry ends at the authorisation's end of validity (the expiry job runs a little after
    it); a refusal, withdrawal or revocation ends now (a revocation ends the validity).
    """
    if to is S.EXPIRED:
        authorisation = application.authorisation
        if authorisation is not None and authorisation.valid_until is not None:
            return min(authorisation.valid_until, now)
    return now


def _has_decision(session: SessionLike, application: Application, state: DecisionState) -> bool:
    """Whether a refusal in `state` is recorded for `application` since it was last reopened.

    Flushed changes included. A review request reopens a refused case, and the confirmation of
    the refusal it challenges must not count again: otherwise that old second officer's word
    would let one officer refuse the reviewed case alone. Only decisions recorded after the
    last reviewed one count (ids grow with time, and no refusal can be proposed on a refused
    case, so every later decision was proposed after the reopening).
    """
    if application.id is None:
        return False
    reviewed_up_to = (
        select(func.coalesce(func.max(ReviewRequest.decision_id), 0))
        .where(ReviewRequest.application_id == application.id)
        .scalar_subquery()
    )
    return (
        session.scalar(
            select(Decision.id)
            .where(
                Decision.application_id == application.id,
                Decision.kind == DecisionKind.REFUSE,
                Decision.state == state,
                Decision.id > reviewed_up_to,
            )
            .limit(1)
        )
        is not None
    )


REVIEW_REQUESTED = "review_requested"
# What a decision on a reopened case makes of the review that reopened it.
REVIEW_OUTCOMES = {
    S.APPROVED: ReviewOutcome.OVERTURNED,
    S.REFUSED: ReviewOutcome.UPHELD,
    S.WITHDRAWN: ReviewOutcome.WITHDRAWN,
}


def _settle_review(
    session: SessionLike,
    application: Application,
    to: S,
    *,
    actor: Actor,
    officer_id: int | None,
) -> None:
    """Record the outcome of the open review request, if any, when the case is decided again."""
    outcome = REVIEW_OUTCOMES.get(to)
    if outcome is None or application.id is None:
        return
    review = session.scalar(
        select(ReviewRequest)
        .where(ReviewRequest.application_id == application.id, ReviewRequest.outcome.is_(None))
        .limit(1)
    )
    if review is None:
        return
    review.outcome = outcome
    review.decided_at = utcnow()
    audit.record(
        session,
        "review.decided",
        actor=_actor_label(actor, officer_id),
        object_type="application",
        object_id=application.reference,
        details={"review": review.id, "outcome": outcome.value},
    )


def transition(
    session: SessionLike,
    application: Application,
    to: S,
    *,
    actor: Actor = Actor.SYSTEM,
    officer_id: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
    commit: bool = True,
) -> Application:
    """Move an application to status `to`, or raise LifecycleError if that move is not allowed.

    A refusal needs the deciding officer's id. The change, its event and its audit record are
    committed together unless `commit` is False (the caller then commits with its own changes).
    """
    current = S(application.status)
    if to not in TRANSITIONS[current]:
        raise LifecycleError(f"an application cannot go from {current.value} to {to.value}")
    if to is S.REFUSED:
        if officer_id is None:
            raise LifecycleError("only an officer can refuse an application")
        if not _has_decision(session, application, DecisionState.CONFIRMED):
            raise RefusalNotConfirmed("a refusal needs a second officer's confirmation")
    if current is S.REFUSED and reason_code != REVIEW_REQUESTED:
        raise LifecycleError("a refusal goes back to an officer only when a review is requested")
    if (
        current is S.APPROVED
        and to is S.REFERRED
        and (reason_code != ISSUANCE_FAILED or application.authorisation is not None)
    ):
        raise LifecycleError("an approval goes back to an officer only when issuance failed")
    if to in BLOCKED_BY_PROPOSAL and _has_decision(session, application, DecisionState.PROPOSED):
        raise RefusalPending("a proposed refusal waits for a second officer")
    if current in UNDECIDED:
        _settle_review(session, application, to, actor=actor, officer_id=officer_id)
    if current is S.REFUSED:
        # Open again: no longer ended, so no retention clock runs until it ends anew.
        application.erase_after = None
    _record(
        session,
        application,
        to,
        actor=actor,
        officer_id=officer_id,
        reason_code=reason_code,
        note=note,
        from_status=current,
    )
    if commit:
        session.commit()
    return application


@dataclass(frozen=True, slots=True)
class Attached:
    """Rows written with a move by `advance()`, if and only if the move happens.

    `row` goes into `table`; each of `children` goes into `child_table` with `child_key` set to
    the new row's id (a screening run and its hits, say).
    """

    table: Table
    row: dict[str, Any]
    child_table: Table | None = None
    child_key: str = ""
    children: Sequence[dict[str, Any]] = ()


_APPLICATIONS: Table = Application.__table__  # type: ignore[assignment]
_EVENTS: Table = ApplicationEvent.__table__  # type: ignore[assignment]
_INSERT_EVENTS = insert(_EVENTS)
# Built once per set of columns (building a statement costs more than running it). The loaded
# version and status must still hold: anyone else's change (another run's decision, a
# withdrawal) bumped the version, so the UPDATE then matches no row.
_ADVANCE_STATEMENTS: dict[frozenset[str], Any] = {}


def _advance_statement(columns: frozenset[str]) -> Any:
    statement = _ADVANCE_STATEMENTS.get(columns)
    if statement is None:
        c = _APPLICATIONS.c
        statement = (
            update(_APPLICATIONS)
            .where(
                c.id == bindparam("b_id"),
                c.version == bindparam("b_version"),
                c.status == bindparam("b_status"),
            )
            .values({name: bindparam(f"new_{name}") for name in sorted(columns)})
        )
        _ADVANCE_STATEMENTS[columns] = statement
    return statement


@functools.cache
def _insert_returning_id(table: Table) -> Any:
    return insert(table).returning(table.c.id)


@functools.cache
def _insert(table: Table) -> Any:
    return insert(table)


def insert_attached(session: SessionLike, attached: Attached) -> int:
    """Insert `attached`'s row and its children in the session's transaction; returns the row's id.

    Core statements (the caller commits): rows written once and never changed need none of the
    unit of work's bookkeeping.
    """
    connection = session.connection()
    row_id: int = connection.execute(
        _insert_returning_id(attached.table), attached.row
    ).scalar_one()
    if attached.children and attached.child_table is not None:
        connection.execute(
            _insert(attached.child_table),
            [{**child, attached.child_key: row_id} for child in attached.children],
        )
    return row_id


def advance(
    session: SessionLike,
    application: Application,
    path: Sequence[S],
    *,
    reason_code: str | None = None,
    decision_deadline: dt.datetime | None = None,
    attach: Attached | None = None,
    commit: bool = False,
) -> bool:
    """Move an application by the system through each status of `path` in turn, without the ORM.

    What `transition()` does for each step (the same checks, one event and one audit record per
    step; `reason_code` goes with the last step), written with Core statements in the caller's
    transaction: one UPDATE of the application, one INSERT of its events, one of its audit
    records, then `attach`'s rows (a screening run and its hits). For hot paths (the screening
    job): no unit of work, no flush; the same statements on every database.

    Returns False, having changed nothing, when the application is no longer as loaded (its
    version or status moved: another run decided, the traveller withdrew); the caller then
    rolls back. With `commit`, the move is committed (or, when it did not happen, the
    transaction ended) before this returns.
    """
    current = S(application.status)
    steps: list[tuple[S, S]] = []
    for to in path:
        # The system never refuses, nor reopens a refusal (only a traveller's review request).
        if to not in TRANSITIONS[current] or S.REFUSED in (to, current):
            raise LifecycleError(f"an application cannot go from {current.value} to {to.value}")
        steps.append((current, to))
        current = to
    if not steps:
        return True
    now = utcnow()
    values: dict[str, Any] = {
        "status": current.value,
        "status_changed_at": now,
        "version": application.version + 1,
    }
    if decision_deadline is not None:
        values["decision_deadline"] = decision_deadline
    if current in ENDED:
        # The system's own paths end nowhere today (screening approves or refers), but the
        # retention clock must start wherever an application ends, as in `_record`.
        values["erase_after"] = erase_after(now)
    actor = Actor.SYSTEM.value
    events: list[dict[str, Any]] = []
    entries: list[audit.Entry] = []
    for index, (before, to) in enumerate(steps):
        reason = reason_code if index == len(steps) - 1 else None
        events.append(
            {
                "application_id": application.id,
                "at": now,
                "from_status": before.value,
                "to_status": to.value,
                "actor": actor,
                "officer_id": None,
                "reason_code": reason,
                "note": None,
            }
        )
        entries.append(
            audit.Entry(
                f"application.{to.value}",
                actor,
                "application",
                application.reference,
                {"from": before.value, "reason": reason},
            )
        )
    guard = {
        "b_id": application.id,
        "b_version": application.version,
        "b_status": application.status,
    }
    connection = session.connection()
    updated = connection.execute(
        _advance_statement(frozenset(values)),
        {**guard, **{f"new_{name}": value for name, value in values.items()}},
    )
    moved = updated.rowcount == 1
    if moved:
        connection.execute(_INSERT_EVENTS, events)
        audit.append(session, entries)
        if attach is not None:
            insert_attached(session, attach)
    if not moved:
        if commit:
            session.rollback()
        return False
    # The object in the session says what the database now holds, without making it dirty.
    for name, value in values.items():
        set_committed_value(application, name, value)
    if commit:
        session.commit()
    return True


@dataclass(frozen=True, slots=True)
class NewApplication:
    """A submitted application as its INSERT left it: what a submission answers with."""

    id: int
    reference: str


_INSERT_APPLICATION = insert(_APPLICATIONS).returning(_APPLICATIONS.c.id)


def insert_submitted(
    session: SessionLike, fields: dict[str, Any], *, channel: str
) -> NewApplication:
    """Insert a new application as submitted, with its first event and audit record; no commit.

    `fields` are the application's columns (validate_application's output); the reference is
    drawn here unless `fields` has one. Core statements in the caller's transaction, as for
    `advance`: a submission is written once, and needs no unit of work. A reference that is
    already taken raises IntegrityError (see `reference_taken`): the caller rolls back and
    submits again, and the transaction then draws another.
    """
    now = utcnow()
    reference = fields.get("reference") or new_reference()
    row = {
        **fields,
        "reference": reference,
        "channel": channel,
        "status": S.SUBMITTED.value,
        "status_changed_at": now,
        "created_at": now,
        "version": 1,
    }
    connection = session.connection()
    application_id: int = connection.execute(_INSERT_APPLICATION, row).scalar_one()
    actor = Actor.TRAVELLER.value
    connection.execute(
        _INSERT_EVENTS,
        [
            {
                "application_id": application_id,
                "at": now,
                "from_status": None,
                "to_status": S.SUBMITTED.value,
                "actor": actor,
                "officer_id": None,
                "reason_code": None,
                "note": None,
            }
        ],
    )
    audit.append(
        session,
        [
            audit.Entry(
                f"application.{S.SUBMITTED.value}",
                actor,
                "application",
                reference,
                {"from": None, "reason": None},
            )
        ],
    )
    return NewApplication(application_id, reference)


def submit(session: SessionLike, application: Application, *, commit: bool = True) -> Application:
    """Record a new (transient) application as submitted; returns it as the session holds it.

    The same rows as `insert_submitted`, which it calls with the columns set on `application`
    (its channel too, web by default); the object returned is loaded from the session, not
    `application` itself.
    """
    if application.id is not None or inspect(application).persistent:
        raise LifecycleError("this application was already submitted")
    state = inspect(application)
    fields = {
        attribute.key: state.dict[attribute.key]
        for attribute in state.mapper.column_attrs
        if attribute.key in state.dict
    }
    channel = fields.pop("channel", None) or "web"
    new = insert_submitted(session, fields, channel=channel)
    if commit:
        session.commit()
    saved = session.get(Application, new.id)
    assert saved is not None  # noqa: S101  (just inserted in this transaction or committed)
    return saved


def start_screening(
    session: SessionLike, application: Application, *, commit: bool = True
) -> Application:
    """Mark that screening has begun (the screening job records it with its decision)."""
    return transition(session, application, S.SCREENING, commit=commit)


def approve(
    session: SessionLike,
    application: Application,
    *,
    officer_id: int | None = None,
    commit: bool = True,
) -> Application:
    """Approve: automatically after clear screening, or by an officer after a referral."""
    actor = Actor.OFFICER if officer_id is not None else Actor.SYSTEM
    return transition(
        session, application, S.APPROVED, actor=actor, officer_id=officer_id, commit=commit
    )


def refer(
    session: SessionLike,
    application: Application,
    *,
    deadline: dt.datetime,
    reason_code: str | None = None,
    commit: bool = True,
) -> Application:
    """Send an application to the officers' queue with a decision deadline."""
    application.decision_deadline = deadline
    return transition(session, application, S.REFERRED, reason_code=reason_code, commit=commit)


def reopen_for_review(
    session: SessionLike,
    application: Application,
    *,
    deadline: dt.datetime,
    commit: bool = True,
) -> Application:
    """A refused traveller asked for a review: back to the queue (reason `review_requested`).

    The guards on who may ask, and when, are eta.applications.review's; this is the move.
    """
    application.decision_deadline = deadline
    application.deadline_paused_at = None
    # Back in the queue unclaimed: any officer may take the review, not only the one who refused.
    application.claimed_by_id = None
    application.claimed_at = None
    return transition(
        session,
        application,
        S.REFERRED,
        actor=Actor.TRAVELLER,
        reason_code=REVIEW_REQUESTED,
        commit=commit,
    )


def refuse(
    session: SessionLike,
    application: Application,
    *,
    officer_id: int,
    reason_code: str,
    note: str | None,
    commit: bool = True,
) -> Application:
    """Refuse, on a refusal a second officer confirmed (four eyes): never reached automatically."""
    return transition(
        session,
        application,
        S.REFUSED,
        actor=Actor.OFFICER,
        officer_id=officer_id,
        reason_code=reason_code,
        note=note,
        commit=commit,
    )


def request_info(
    session: SessionLike,
    application: Application,
    *,
    officer_id: int,
    note: str | None = None,
    commit: bool = True,
) -> Application:
    """Ask the traveller for more information; the decision deadline pauses meanwhile."""
    application.deadline_paused_at = utcnow()
    return transition(
        session,
        application,
        S.INFO_REQUESTED,
        actor=Actor.OFFICER,
        officer_id=officer_id,
        note=note,
        commit=commit,
    )


def _resume_deadline(application: Application) -> None:
    """The decision deadline runs again, later by the time it was paused."""
    if application.deadline_paused_at and application.decision_deadline:
        application.decision_deadline += utcnow() - application.deadline_paused_at
    application.deadline_paused_at = None


def info_received(
    session: SessionLike, application: Application, *, commit: bool = True
) -> Application:
    """The traveller answered: back to the queue, the deadline extended by the time paused."""
    _resume_deadline(application)
    return transition(session, application, S.REFERRED, actor=Actor.TRAVELLER, commit=commit)


INFORMATION_NOT_RECEIVED = "information_not_received"


def information_lapsed(
    session: SessionLike, application: Application, *, commit: bool = True
) -> Application:
    """No answer came in time: back to the queue (reason `information_not_received`)."""
    _resume_deadline(application)
    return transition(
        session, application, S.REFERRED, reason_code=INFORMATION_NOT_RECEIVED, commit=commit
    )


ISSUANCE_FAILED = "issuance_failed"
# An event's note is a bounded text column; a cause is a sentence, never personal data.
MAX_CAUSE_CHARS = 500


def issuance_failed(
    session: SessionLike,
    application: Application,
    *,
    cause: str,
    deadline: dt.datetime,
    commit: bool = True,
) -> Application:
    """An approval that cannot be issued goes to an officer (reason `issuance_failed`).

    The cause is the event's note, shown on the case page; the case gets a decision deadline
    as any referral does. Refused (LifecycleError) once an authorisation exists: an issued
    approval is revoked, never sent back. Neither retried for ever nor re-enqueued by the
    sweeper, which only looks at approved cases.
    """
    if S(application.status) is not S.APPROVED or application.authorisation is not None:
        raise LifecycleError("only an approval not yet issued can be referred for issuance")
    application.decision_deadline = deadline
    return transition(
        session,
        application,
        S.REFERRED,
        reason_code=ISSUANCE_FAILED,
        note=cause[:MAX_CAUSE_CHARS],
        commit=commit,
    )


def revoke(
    session: SessionLike,
    application: Application,
    *,
    reason_code: str,
    officer_id: int | None = None,
    actor: Actor = Actor.OFFICER,
    commit: bool = True,
) -> Application:
    """Revoke an approved application's authorisation (the caller updates the revocation list)."""
    return transition(
        session,
        application,
        S.REVOKED,
        actor=actor,
        officer_id=officer_id,
        reason_code=reason_code,
        commit=commit,
    )


def withdraw(session: SessionLike, application: Application) -> Application:
    """The traveller withdraws an application that has not been decided yet."""
    return transition(session, application, S.WITHDRAWN, actor=Actor.TRAVELLER)


def expire(session: SessionLike, application: Application, *, commit: bool = True) -> Application:
    """An approved application whose authorisation ran out of validity."""
    return transition(session, application, S.EXPIRED, commit=commit)
