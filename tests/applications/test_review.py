"""A refused traveller's review request: the guards, what it writes, and the traps it reopens.

Run on SQLite and on PostgreSQL (ETA_DATABASE_URL), through the real verbs of the domain core.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from eta import applications
from eta.applications import decisions, review
from eta.applications.lifecycle import RefusalNotConfirmed
from eta.applications.retention import ERASED_TEXT, erase_batch
from eta.models import (
    Application,
    ApplicationStatus,
    AuditEvent,
    Decision,
    Officer,
    OutboxMessage,
    ReviewOutcome,
    ReviewRequest,
)
from eta.timeutil import utcnow
from tests.factories import submitted_application

S = ApplicationStatus


def _officer(session: Any, role: str, name: str) -> Officer:
    officer = Officer(email=f"{name}@border.test", password_hash="x", totp_secret="x", role=role)
    session.add(officer)
    session.commit()
    return officer


def _referred(session: Any) -> Application:
    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.refer(session, application, deadline=utcnow() + dt.timedelta(hours=48))
    return application


def _refuse_by_four_eyes(
    session: Any, application: Application, proposer: Officer, supervisor: Officer
) -> Decision:
    """Refuse as officers do: one proposes, a supervisor confirms (eta.applications.decisions)."""
    decision = decisions.propose_refusal(
        session,
        application,
        proposer,
        version=application.version,
        reason_code="security",
        note="Listed person",
    )
    decisions.confirm_refusal(
        session, application, decision, supervisor, version=application.version
    )
    return decision


@pytest.fixture
def staff(session: Any) -> tuple[Officer, Officer]:
    """An officer who proposes refusals and a supervisor who confirms them."""
    return _officer(session, "officer", "proposer"), _officer(session, "supervisor", "second")


@pytest.fixture
def refused(session: Any, staff: tuple[Officer, Officer]) -> Application:
    """An application refused by four eyes, committed."""
    application = _referred(session)
    _refuse_by_four_eyes(session, application, *staff)
    assert application.status == S.REFUSED
    return application


def test_a_review_request_reopens_the_refusal_with_its_event_audit_and_email(
    session: Any, refused: Application
) -> None:
    assert refused.erase_after is not None  # the refusal started the retention clock
    before = utcnow()
    found = review.request_review(
        session, refused, grounds="  The conviction was quashed in 2015.  ", statement=""
    )
    session.expire_all()
    application = session.get(Application, refused.id)
    assert application.status == S.REFERRED
    event = application.events[-1]
    assert (event.from_status, event.to_status, event.actor, event.reason_code) == (
        "refused",
        "referred",
        "traveller",
        "review_requested",
    )
    # Open again: the retention clock stops, and the officers get a fresh deadline.
    assert application.erase_after is None
    assert application.decision_deadline is not None
    assert application.decision_deadline >= before + dt.timedelta(hours=95)
    stored = session.get(ReviewRequest, found.id)
    assert stored.grounds == "The conviction was quashed in 2015."
    assert stored.statement is None and stored.outcome is None
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == refused.reference)
    ).all()
    assert "review.requested" in actions and "application.referred" in actions
    row = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.key == f"notify-{refused.id}-review_requested-{found.id}"
        )
    )
    assert row is not None and row.args == [refused.id, "review_requested", None, None, found.id]


def test_only_a_refused_application_can_be_reviewed(session: Any) -> None:
    application = _referred(session)
    with pytest.raises(review.NotRefused):
        review.request_review(session, application, grounds="Why?")
    assert session.scalars(select(ReviewRequest)).all() == []


def test_a_second_request_for_the_same_refusal_is_refused_clearly(
    app: Any, session: Any, refused: Application
) -> None:
    review.request_review(session, refused, grounds="First")
    with pytest.raises(review.AlreadyRequested) as raised:
        review.request_review(session, refused, grounds="Second")
    with app.test_request_context():
        assert "already asked for a review of this decision" in str(raised.value)
    assert len(session.scalars(select(ReviewRequest)).all()) == 1


def test_the_database_refuses_a_second_request_that_raced_past_the_verb(
    session: Any, refused: Application
) -> None:
    first = review.request_review(session, refused, grounds="First")
    session.add(
        ReviewRequest(application_id=refused.id, decision_id=first.decision_id, grounds="Again")
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_the_window_is_configurable_and_closes_after_its_last_day(
    app: Any, session: Any, refused: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ETA_REVIEW_WINDOW_DAYS", 3)
    refused_at = review._aware(refused.status_changed_at)
    with pytest.raises(review.WindowClosed) as raised:
        review.request_review(
            session, refused, grounds="Late", now=refused_at + dt.timedelta(days=3, seconds=1)
        )
    with app.test_request_context():
        assert "within 3 days" in str(raised.value)
    assert session.get(Application, refused.id).status == S.REFUSED
    review.request_review(
        session, refused, grounds="On time", now=refused_at + dt.timedelta(days=3)
    )
    assert session.get(Application, refused.id).status == S.REFERRED


def test_the_default_window_is_28_days(app: Any) -> None:
    assert app.config["ETA_REVIEW_WINDOW_DAYS"] == 28


@pytest.mark.parametrize(
    ("grounds", "statement", "fields"),
    [
        ("", None, {"grounds"}),
        ("   ", "", {"grounds"}),
        ("x" * (review.MAX_GROUNDS_CHARS + 1), None, {"grounds"}),
        ("fine", "y" * (review.MAX_STATEMENT_CHARS + 1), {"statement"}),
    ],
)
def test_grounds_are_required_and_texts_limited(
    session: Any, refused: Application, grounds: str, statement: str | None, fields: set[str]
) -> None:
    with pytest.raises(review.InvalidReview) as raised:
        review.request_review(session, refused, grounds=grounds, statement=statement)
    assert set(raised.value.errors) == fields
    assert session.get(Application, refused.id).status == S.REFUSED


def test_after_a_review_an_old_confirmation_does_not_let_one_officer_refuse_again(
    session: Any, refused: Application, staff: tuple[Officer, Officer]
) -> None:
    """Trap 1: the four-eyes guard counts only decisions made after the reopening."""
    proposer, _supervisor = staff
    review.request_review(session, refused, grounds="The conviction was quashed.")
    application = session.get(Application, refused.id)
    with pytest.raises(RefusalNotConfirmed):
        applications.refuse(
            session, application, officer_id=proposer.id, reason_code="security", note=None
        )
    session.rollback()
    assert session.get(Application, refused.id).status == S.REFERRED


def test_a_reviewed_case_is_refused_again_by_four_eyes_and_the_review_upheld(
    session: Any, refused: Application, staff: tuple[Officer, Officer]
) -> None:
    first = review.request_review(session, refused, grounds="Please look again.")
    application = session.get(Application, refused.id)
    second_refusal = _refuse_by_four_eyes(session, application, *staff)
    session.expire_all()
    assert session.get(Application, refused.id).status == S.REFUSED
    assert session.get(ReviewRequest, first.id).outcome == ReviewOutcome.UPHELD
    keys = set(session.scalars(select(OutboxMessage.key)))
    assert f"notify-{refused.id}-refused-{second_refusal.id}" in keys
    # A new refusal is a new decision: its review may be asked for once too.
    again = review.request_review(session, session.get(Application, refused.id), grounds="New")
    assert again.decision_id == second_refusal.id


def test_an_approval_after_review_overturns_it_and_a_withdrawal_withdraws_it(
    session: Any, staff: tuple[Officer, Officer]
) -> None:
    proposer, supervisor = staff
    overturned = _referred(session)
    _refuse_by_four_eyes(session, overturned, proposer, supervisor)
    first = review.request_review(session, overturned, grounds="Mistaken identity.")
    decisions.approve(session, overturned, supervisor, version=overturned.version)
    assert session.get(ReviewRequest, first.id).outcome == ReviewOutcome.OVERTURNED
    assert session.get(Application, overturned.id).status == S.APPROVED

    withdrawn = submitted_application(
        session, passport_number="W1", passport_number_normalised="W1"
    )
    applications.start_screening(session, withdrawn)
    applications.refer(session, withdrawn, deadline=utcnow())
    _refuse_by_four_eyes(session, withdrawn, proposer, supervisor)
    second = review.request_review(session, withdrawn, grounds="Changed my mind.")
    applications.withdraw(session, withdrawn)
    assert session.get(ReviewRequest, second.id).outcome == ReviewOutcome.WITHDRAWN
    outcomes = session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "review.decided")
    ).all()
    assert [d["outcome"] for d in outcomes] == ["overturned", "withdrawn"]


def test_the_system_cannot_reopen_a_refusal_nor_without_a_review(
    session: Any, refused: Application
) -> None:
    with pytest.raises(applications.LifecycleError):
        applications.advance(session, refused, [S.REFERRED])
    with pytest.raises(applications.LifecycleError):
        applications.transition(session, refused, S.REFERRED, reason_code="other")


def test_erasure_removes_the_travellers_grounds(session: Any, refused: Application) -> None:
    found = review.request_review(
        session, refused, grounds="My name is Anna.", statement="My passport is L898902C3."
    )
    application = session.get(Application, refused.id)
    applications.withdraw(session, application)
    erase_batch(session, utcnow() + dt.timedelta(days=10 * 365))
    session.expire_all()
    stored = session.get(ReviewRequest, found.id)
    assert (stored.grounds, stored.statement) == (ERASED_TEXT, None)
