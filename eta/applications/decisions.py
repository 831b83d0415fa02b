"""An officer's work on a case: claims, approvals, four-eyes refusals, information requests.

Every verb here checks its guards and writes the change, its event and audit record and the
outbox rows for the work that must follow (issuance, the traveller's email) in one
transaction, then commits. The
officer pages only parse the form, call one verb and render; the rules (who may act on a case,
that a refusal needs a second officer, that a pending refusal blocks every other decision) live
here, so no page, job or command can skip them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from eta import audit, outbox, tasks
from eta.accounts.roles import has_role
from eta.applications import lifecycle
from eta.applications.reasons import REFUSAL_REASONS, REVOCATION_REASONS
from eta.models import (
    Actor,
    Application,
    ApplicationStatus,
    Decision,
    DecisionKind,
    DecisionState,
    InformationRequest,
    Officer,
    Role,
)
from eta.models.base import SessionLike
from eta.timeutil import utcnow

S = ApplicationStatus
# Statuses of a case in the officers' queue.
IN_QUEUE = (S.REFERRED, S.INFO_REQUESTED)
MAX_NOTE_CHARS = 5000
MAX_QUESTIONS_CHARS = 5000


def _n(message: str) -> str:
    """Mark `message` for the translation catalogue; the officer's page translates it."""
    return message


class DecisionError(Exception):
    """A decision that cannot be taken; `message` says why, in the officer's words."""

    message = _n("This action is not allowed.")


class CaseChanged(DecisionError):
    """The case changed since the officer loaded it (another officer, the traveller, a job)."""

    message = _n(
        "This case changed while you were looking at it. Nothing was saved: "
        "check the case again before you act."
    )


class NotYours(DecisionError):
    """Another officer holds the case, or the officer lacks the role the action needs."""

    message = _n("You cannot do this on this case.")


class RefusalPending(DecisionError):
    """A refusal proposed on the case waits for a second officer: nothing else may be decided."""

    message = _n(
        "A refusal of this case waits for a supervisor's confirmation. It must be confirmed "
        "or rejected before the case can be approved, revoked or sent back to the traveller."
    )


class InvalidInput(DecisionError):
    """What the officer entered is incomplete; `message` says what is missing."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def pending_refusal(session: SessionLike, application: Application) -> Decision | None:
    """The refusal proposed on `application` that waits for a second officer, if any."""
    return session.scalar(
        select(Decision).where(
            Decision.application_id == application.id,
            Decision.state == DecisionState.PROPOSED,
        )
    )


def _expect_version(application: Application, version: int | None) -> None:
    """The officer acted on the page of this version of the case, or nothing happens."""
    if version is None or version != application.version:
        raise CaseChanged


def _take(application: Application, officer: Officer) -> None:
    """Act only on a case that is unclaimed or claimed by `officer`; claim it.

    Every action changes the row (so its version), so a second officer's stale form is caught
    by the version check and, between load and commit, by the optimistic lock.
    """
    if application.claimed_by_id not in (None, officer.id):
        raise NotYours
    application.claimed_by_id = officer.id
    application.claimed_at = application.claimed_at or utcnow()
    flag_modified(application, "claimed_by_id")


def _decidable(session: SessionLike, application: Application) -> None:
    """The case is in the queue awaiting a decision, with no refusal waiting for confirmation."""
    if application.status != S.REFERRED:
        raise CaseChanged
    if pending_refusal(session, application) is not None:
        raise RefusalPending


def _audit(
    session: SessionLike,
    action: str,
    officer: Officer,
    application: Application,
    details: dict[str, object] | None = None,
) -> None:
    audit.record(
        session,
        action,
        actor=f"officer:{officer.id}",
        object_type="application",
        object_id=application.reference,
        details=details,
    )


def _commit(session: SessionLike) -> None:
    """Commit with the outbox rows (pushed to RQ after), or CaseChanged on a lost race."""
    try:
        outbox.commit(session)
    except StaleDataError as error:
        session.rollback()
        raise CaseChanged from error


def claim(
    session: SessionLike, application: Application, officer: Officer, *, version: int | None
) -> None:
    """Claim a case in the queue so other officers know `officer` is working on it."""
    _expect_version(application, version)
    if application.status not in IN_QUEUE:
        raise CaseChanged
    _take(application, officer)
    application.claimed_at = utcnow()
    _audit(session, "application.claimed", officer, application)
    _commit(session)


def release(
    session: SessionLike, application: Application, officer: Officer, *, version: int | None
) -> None:
    """Release a claim: one's own, or anyone's for a supervisor."""
    if application.claimed_by_id not in (None, officer.id) and not has_role(
        officer, Role.SUPERVISOR
    ):
        raise NotYours
    _expect_version(application, version)
    application.claimed_by_id = None
    application.claimed_at = None
    _audit(session, "application.released", officer, application)
    _commit(session)


def approve(
    session: SessionLike, application: Application, officer: Officer, *, version: int | None
) -> None:
    """Approve a referred case; its authorisation is issued next.

    Refused while a refusal proposed on the case waits for a second officer: four eyes would
    mean nothing if the proposer (or anyone) could approve past it.
    """
    _expect_version(application, version)
    _take(application, officer)
    _decidable(session, application)
    key = f"issue-{application.id}"
    if outbox.exists(session, key):
        # Approved once before, then referred because issuance failed: a new row this time.
        key = f"{key}-{application.version}"
    lifecycle.approve(session, application, officer_id=officer.id, commit=False)
    outbox.add(session, tasks.ISSUE, application.id, key=key)
    _commit(session)


def propose_refusal(
    session: SessionLike,
    application: Application,
    officer: Officer,
    *,
    version: int | None,
    reason_code: str,
    note: str,
) -> Decision:
    """Propose refusing a case; it takes effect only once a second officer confirms it."""
    note = note.strip()
    if reason_code not in REFUSAL_REASONS or not note:
        raise InvalidInput(_n("Choose a reason for refusing and write a note for the record."))
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(_n("The note is too long: shorten it."))
    _expect_version(application, version)
    _take(application, officer)
    _decidable(session, application)
    decision = Decision(
        application_id=application.id,
        kind=DecisionKind.REFUSE,
        reason_code=reason_code,
        note=note,
        proposed_by_id=officer.id,
    )
    session.add(decision)
    session.flush()
    _audit(
        session,
        "decision.proposed",
        officer,
        application,
        {"decision": decision.id, "kind": "refuse", "reason": reason_code},
    )
    _commit(session)
    return decision


def _second_officer(decision: Decision, application: Application, officer: Officer) -> None:
    """The answer to a proposal comes from a supervisor who is not its proposer."""
    if decision.application_id != application.id:
        raise LookupError("no such decision on this case")
    if decision.proposed_by_id == officer.id or not has_role(officer, Role.SUPERVISOR):
        raise NotYours
    if decision.state != DecisionState.PROPOSED:
        raise CaseChanged


def _settle(decision: Decision, state: DecisionState, officer: Officer) -> None:
    decision.state = state
    decision.confirmed_by_id = officer.id
    decision.confirmed_at = utcnow()


def confirm_refusal(
    session: SessionLike,
    application: Application,
    decision: Decision,
    officer: Officer,
    *,
    version: int | None,
) -> None:
    """A second officer (a supervisor, not the proposer) confirms a proposed refusal."""
    _second_officer(decision, application, officer)
    _expect_version(application, version)
    if application.status != S.REFERRED:
        raise CaseChanged
    _settle(decision, DecisionState.CONFIRMED, officer)
    _audit(
        session,
        "decision.confirmed",
        officer,
        application,
        {"decision": decision.id, "reason": decision.reason_code},
    )
    lifecycle.refuse(
        session,
        application,
        officer_id=decision.proposed_by_id,
        reason_code=decision.reason_code,
        note=decision.note,
        commit=False,
    )
    # One email per refusal: a case reopened by a review and refused again is a new decision,
    # with its own outbox row and its own "already sent" mark in the notify job.
    outbox.add(
        session,
        tasks.NOTIFY,
        application.id,
        "refused",
        None,
        None,
        decision.id,
        key=f"notify-{application.id}-refused-{decision.id}",
    )
    _commit(session)


def reject_refusal(
    session: SessionLike,
    application: Application,
    decision: Decision,
    officer: Officer,
    *,
    version: int | None,
) -> None:
    """A supervisor sends a proposed refusal back; the case stays in the queue, decidable."""
    _second_officer(decision, application, officer)
    _expect_version(application, version)
    _settle(decision, DecisionState.REJECTED, officer)
    flag_modified(application, "claimed_by_id")  # a new version: open pages are stale
    _audit(session, "decision.rejected", officer, application, {"decision": decision.id})
    _commit(session)


def request_information(
    session: SessionLike,
    application: Application,
    officer: Officer,
    *,
    version: int | None,
    questions: str,
) -> None:
    """Ask the traveller questions; the decision deadline pauses until they answer.

    An unanswered request lapses after ETA_INFORMATION_DAYS (see :func:`lapse_information`).
    """
    questions = questions.strip()
    if not questions:
        raise InvalidInput(_n("Write the questions for the traveller."))
    if len(questions) > MAX_QUESTIONS_CHARS:
        raise InvalidInput(_n("The questions are too long: shorten them."))
    _expect_version(application, version)
    _take(application, officer)
    _decidable(session, application)
    info = InformationRequest(
        application_id=application.id, officer_id=officer.id, questions=questions
    )
    session.add(info)
    session.flush()
    _audit(session, "information.requested", officer, application, {"request": info.id})
    lifecycle.request_info(session, application, officer_id=officer.id, commit=False)
    outbox.add(
        session,
        tasks.NOTIFY,
        application.id,
        "info_requested",
        None,
        info.id,
        key=f"notify-{application.id}-info_requested-{info.id}",
    )
    _commit(session)


def answer_information(
    session: SessionLike, info: InformationRequest, application: Application, answer: str
) -> None:
    """The traveller's answer: recorded, and the case goes back to the queue."""
    if info.answer is not None or application.status != S.INFO_REQUESTED:
        raise CaseChanged
    info.answer = answer
    info.answered_at = utcnow()
    audit.record(
        session,
        "information.answered",
        actor=Actor.TRAVELLER.value,
        object_type="application",
        object_id=application.reference,
        details={"request": info.id},
    )
    lifecycle.info_received(session, application, commit=False)
    _commit(session)


def lapse_information(session: SessionLike, *, days: int, now: dt.datetime | None = None) -> int:
    """Return to the queue every case whose information request went unanswered for `days`.

    The case gets an event with reason `information_not_received` (shown on the case page) and
    its deadline runs again from where it paused; the traveller's link stops taking answers.
    Each case is its own transaction, so one that changed meanwhile is skipped, not fatal.
    Returns how many cases went back.
    """
    now = now or utcnow()
    lapsed = session.execute(
        select(Application, InformationRequest)
        .join(InformationRequest, InformationRequest.application_id == Application.id)
        .where(
            Application.status == S.INFO_REQUESTED,
            InformationRequest.answered_at.is_(None),
            InformationRequest.created_at <= now - dt.timedelta(days=days),
        )
        .order_by(InformationRequest.id)
    ).all()
    count = 0
    seen: set[int] = set()
    for application, info in lapsed:
        if application.id in seen:
            continue
        seen.add(application.id)
        try:
            lifecycle.information_lapsed(session, application, commit=False)
            audit.record(
                session,
                "information.lapsed",
                actor=Actor.SYSTEM.value,
                object_type="application",
                object_id=application.reference,
                details={"request": info.id},
            )
            _commit(session)
            count += 1
        except (CaseChanged, lifecycle.LifecycleError):
            session.rollback()
    return count


def revoke(
    session: SessionLike,
    application: Application,
    officer: Officer,
    *,
    version: int | None,
    reason_code: str,
) -> None:
    """Revoke the case's issued authorisation (the revocation list follows at once).

    Refused while a refusal proposal waits on the case, as approval is.
    """
    from eta.authorisations.revocation import revoke as revoke_authorisation

    authorisation = application.authorisation
    if authorisation is None or authorisation.revoked_at is not None:
        raise LookupError("no authorisation to revoke")
    if reason_code not in REVOCATION_REASONS:
        raise InvalidInput(_n("Choose a reason for revoking."))
    _expect_version(application, version)
    if pending_refusal(session, application) is not None:
        raise RefusalPending
    try:
        revoke_authorisation(
            session,
            authorisation,
            reason_code=reason_code,
            officer_id=officer.id,
            actor=Actor.OFFICER,
        )
    except (StaleDataError, lifecycle.LifecycleError) as error:
        session.rollback()
        raise CaseChanged from error
