"""A refused traveller's request for a review: who may ask, until when, and what it writes.

`request_review` is the one verb: on a refused application, once per refusal and within
ETA_REVIEW_WINDOW_DAYS of it, it records the traveller's grounds, moves the case back to the
officers' queue (reason `review_requested`, a fresh decision deadline), writes the audit event
and queues the email that says the request arrived, all in one transaction. Officers then
decide as on any referral; the move that decides records the review's outcome (lifecycle).
The form, the JSON API and the verb share `review_errors`, so they all say the same.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from eta import audit, outbox, tasks
from eta.applications import lifecycle
from eta.models import (
    Actor,
    Application,
    ApplicationStatus,
    Decision,
    DecisionKind,
    DecisionState,
    ReviewRequest,
)
from eta.models.base import SessionLike
from eta.timeutil import utcnow

MAX_GROUNDS_CHARS = 5000
MAX_STATEMENT_CHARS = 5000
# The notification the traveller gets once the request is recorded (workers.notifications).
RECEIVED_MESSAGE = "review_requested"


class ReviewError(Exception):
    """A review request that cannot be taken; `message` says why, in the traveller's words."""

    message: LazyString | str = _l("You cannot ask for a review of this application.")

    def __str__(self) -> str:
        return str(self.message)


class NotRefused(ReviewError):
    """Only a refused application can be reviewed."""

    message = _l("You can only ask for a review of an application that was refused.")


class AlreadyRequested(ReviewError):
    """This refusal's review was asked for already (once per refusal)."""

    message = _l(
        "You have already asked for a review of this decision: you can ask only once for "
        "each decision."
    )


class WindowClosed(ReviewError):
    """The refusal is older than the review window."""

    def __init__(self, days: int) -> None:
        super().__init__()
        self.message = _l(
            "The time to ask for a review has passed: you could ask within %(days)d days of "
            "the decision.",
            days=days,
        )


class InvalidReview(ReviewError):
    """The grounds are missing or a text is too long; `errors` maps each field to messages."""

    message = _l("Some fields are missing or not valid.")

    def __init__(self, errors: dict[str, list[LazyString]]) -> None:
        super().__init__()
        self.errors = errors


def window_days() -> int:
    """ETA_REVIEW_WINDOW_DAYS: how many days after a refusal its review may be asked for."""
    return int(current_app.config["ETA_REVIEW_WINDOW_DAYS"])


def _decision_hours() -> int:
    return int(current_app.config["ETA_DECISION_HOURS"])


def review_errors(grounds: str | None, statement: str | None) -> dict[str, list[LazyString]]:
    """What is wrong with a review request's texts (empty when nothing is), field by field.

    The one statement of the rules: the web form's validators and the API call it too.
    """
    errors: dict[str, list[LazyString]] = {}
    grounds = (grounds or "").strip()
    if not grounds:
        errors["grounds"] = [_l("Tell us why you think the decision is wrong")]
    elif len(grounds) > MAX_GROUNDS_CHARS:
        errors["grounds"] = [
            _l("Your reasons must be %(count)d characters or fewer", count=MAX_GROUNDS_CHARS)
        ]
    if statement is not None and len(statement.strip()) > MAX_STATEMENT_CHARS:
        errors["statement"] = [
            _l(
                "Your supporting statement must be %(count)d characters or fewer",
                count=MAX_STATEMENT_CHARS,
            )
        ]
    return errors


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def refusal_of(session: SessionLike, application: Application) -> Decision | None:
    """The confirmed refusal `application` stands refused on (the latest), if it is refused."""
    if application.status != ApplicationStatus.REFUSED:
        return None
    return _latest_refusal(session, application)


def _latest_refusal(session: SessionLike, application: Application) -> Decision | None:
    return session.scalar(
        select(Decision)
        .where(
            Decision.application_id == application.id,
            Decision.kind == DecisionKind.REFUSE,
            Decision.state == DecisionState.CONFIRMED,
        )
        .order_by(Decision.id.desc())
        .limit(1)
    )


def review_of(session: SessionLike, decision_id: int) -> ReviewRequest | None:
    """The review request of the refusal `decision_id`, if one was made."""
    return session.scalar(select(ReviewRequest).where(ReviewRequest.decision_id == decision_id))


def latest_review(session: SessionLike, application: Application) -> ReviewRequest | None:
    """The application's most recent review request, if any (the officers' case page)."""
    return session.scalar(
        select(ReviewRequest)
        .where(ReviewRequest.application_id == application.id)
        .order_by(ReviewRequest.id.desc())
        .limit(1)
    )


@dataclass(frozen=True, slots=True)
class Reviewable:
    """A refusal that may be reviewed now: its decision, and the last moment to ask."""

    decision: Decision
    closes_at: dt.datetime


def reviewable(
    session: SessionLike, application: Application, *, now: dt.datetime | None = None
) -> Reviewable:
    """The refusal a review request would challenge, or the ReviewError saying why there is none.

    Checked in this order: not asked already for the latest refusal (whatever the case became
    since), refused, within the window.
    """
    decision = _latest_refusal(session, application)
    if decision is not None and review_of(session, decision.id) is not None:
        raise AlreadyRequested
    if decision is None or application.status != ApplicationStatus.REFUSED:
        raise NotRefused
    days = window_days()
    closes_at = _aware(application.status_changed_at) + dt.timedelta(days=days)
    if (now or utcnow()) > closes_at:
        raise WindowClosed(days)
    return Reviewable(decision, closes_at)


def request_review(
    session: SessionLike,
    application: Application,
    *,
    grounds: str,
    statement: str | None = None,
    now: dt.datetime | None = None,
) -> ReviewRequest:
    """Record a refused traveller's request for a review and send the case back to the queue.

    Allowed only on a refused application, once per refusal, within ETA_REVIEW_WINDOW_DAYS of
    it (ReviewError otherwise, its `message` in the traveller's words). Writes the request,
    the move to `referred` (reason `review_requested`, a decision deadline ETA_DECISION_HOURS
    away), the audit event and the outbox row of the "we received it" email, then commits.
    A request racing another for the same refusal loses with AlreadyRequested.
    """
    errors = review_errors(grounds, statement)
    if errors:
        raise InvalidReview(errors)
    now = now or utcnow()
    target = reviewable(session, application, now=now)
    review = ReviewRequest(
        application_id=application.id,
        decision_id=target.decision.id,
        grounds=grounds.strip(),
        statement=(statement or "").strip() or None,
        created_at=now,
    )
    session.add(review)
    try:
        session.flush()
        audit.record(
            session,
            "review.requested",
            actor=Actor.TRAVELLER.value,
            object_type="application",
            object_id=application.reference,
            details={"review": review.id, "decision": target.decision.id},
        )
        lifecycle.reopen_for_review(
            session,
            application,
            deadline=now + dt.timedelta(hours=_decision_hours()),
            commit=False,
        )
        outbox.add(
            session,
            tasks.NOTIFY,
            application.id,
            RECEIVED_MESSAGE,
            None,
            None,
            review.id,
            key=f"notify-{application.id}-{RECEIVED_MESSAGE}-{review.id}",
        )
        outbox.commit(session)
    except (IntegrityError, StaleDataError) as error:
        # Another request for this refusal committed first (the unique decision_id, or the
        # application's version moved under us).
        session.rollback()
        raise AlreadyRequested from error
    return review
