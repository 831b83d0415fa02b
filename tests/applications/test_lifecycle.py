"""The application lifecycle: every legal and illegal transition, events and audit records."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import func, select

from eta import applications, audit
from eta.applications import TRANSITIONS, LifecycleError
from eta.models import (
    Actor,
    Application,
    ApplicationEvent,
    AuditEvent,
    CheckName,
    Officer,
    ScreeningHit,
    ScreeningRun,
)
from eta.models import ApplicationStatus as S
from eta.timeutil import utcnow
from tests import factories
from tests.factories import submitted_application, verified_log

# The shortest path from `submitted` to every status, through legal moves only.
PATH_TO = {
    S.SUBMITTED: [],
    S.SCREENING: [S.SCREENING],
    S.APPROVED: [S.SCREENING, S.APPROVED],
    S.REFERRED: [S.SCREENING, S.REFERRED],
    S.REFUSED: [S.SCREENING, S.REFERRED, S.REFUSED],
    S.INFO_REQUESTED: [S.SCREENING, S.REFERRED, S.INFO_REQUESTED],
    S.REVOKED: [S.SCREENING, S.APPROVED, S.REVOKED],
    S.EXPIRED: [S.SCREENING, S.APPROVED, S.EXPIRED],
    S.WITHDRAWN: [S.WITHDRAWN],
}

LEGAL = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
ALL_PAIRS = list(itertools.product(list(S), list(S)))


def _officer(session) -> Officer:
    officer = Officer(email="o@example.gov", password_hash="x", totp_secret="A" * 32)
    session.add(officer)
    session.commit()
    return officer


def _walk(session, application, path, officer_id):
    for status in path:
        if status is S.REFUSED:
            factories.confirm_refusal(session, application, officer_id)
        applications.transition(
            session,
            application,
            status,
            actor=Actor.OFFICER,
            officer_id=officer_id,
        )


def test_the_transition_table_matches_the_documented_lifecycle():
    assert {
        (S.SUBMITTED, S.SCREENING),
        (S.SCREENING, S.APPROVED),
        (S.SCREENING, S.REFERRED),
        (S.REFERRED, S.APPROVED),
        (S.REFERRED, S.REFUSED),
        (S.REFERRED, S.INFO_REQUESTED),
        (S.INFO_REQUESTED, S.REFERRED),
        (S.APPROVED, S.REVOKED),
        (S.APPROVED, S.EXPIRED),
        (S.APPROVED, S.REFERRED),  # issuance failed, before any authorisation
        (S.REFUSED, S.REFERRED),  # the traveller asked for a review (eta.applications.review)
        (S.SUBMITTED, S.WITHDRAWN),
        (S.SCREENING, S.WITHDRAWN),
        (S.REFERRED, S.WITHDRAWN),
        (S.INFO_REQUESTED, S.WITHDRAWN),
    } == LEGAL


@pytest.mark.parametrize(("start", "target"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_transition_is_allowed_or_refused_as_the_table_says(session, start, target):
    officer = _officer(session)
    application = submitted_application(session)
    _walk(session, application, PATH_TO[start], officer.id)
    assert application.status == start
    events_before = session.scalar(select(func.count(ApplicationEvent.id)))
    audits_before = session.scalar(select(func.count(AuditEvent.id)))

    if (start, target) in LEGAL:
        if target is S.REFUSED:
            factories.confirm_refusal(session, application, officer.id)
        # An approval goes back to an officer only as issuance_failed (guarded, tested below).
        # A refusal goes back only as review_requested (guarded, tests/applications/test_review).
        reason = {
            (S.APPROVED, S.REFERRED): "issuance_failed",
            (S.REFUSED, S.REFERRED): "review_requested",
        }.get((start, target))
        applications.transition(
            session,
            application,
            target,
            actor=Actor.OFFICER,
            officer_id=officer.id,
            reason_code=reason,
        )
        session.expire_all()
        assert application.status == target
        assert session.scalar(select(func.count(ApplicationEvent.id))) == events_before + 1
        assert session.scalar(select(func.count(AuditEvent.id))) == audits_before + 1
        last = application.events[-1]
        assert (last.from_status, last.to_status) == (start, target)
    else:
        with pytest.raises(LifecycleError):
            applications.transition(
                session, application, target, actor=Actor.OFFICER, officer_id=officer.id
            )
        session.rollback()
        session.expire_all()
        assert application.status == start
        assert session.scalar(select(func.count(ApplicationEvent.id))) == events_before


def test_refusal_needs_an_officer(session):
    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.refer(session, application, deadline=utcnow() + dt.timedelta(hours=96))
    with pytest.raises(LifecycleError, match="officer"):
        applications.transition(session, application, S.REFUSED)
    session.rollback()
    officer = _officer(session)
    factories.refuse(
        session, application, officer_id=officer.id, reason_code="security", note="UN list"
    )
    assert application.status == S.REFUSED
    assert application.events[-1].officer_id == officer.id
    assert application.events[-1].reason_code == "security"


def test_submission_records_the_first_event_and_a_unique_reference(session):
    first = submitted_application(session)
    second = submitted_application(session, passport_number="X1234567")
    assert first.reference != second.reference
    assert [e.to_status for e in first.events] == [S.SUBMITTED]
    assert first.events[0].from_status is None
    assert first.events[0].actor == Actor.TRAVELLER


def test_information_request_pauses_the_deadline(session):
    officer = _officer(session)
    application = submitted_application(session)
    applications.start_screening(session, application)
    deadline = utcnow() + dt.timedelta(hours=96)
    applications.refer(session, application, deadline=deadline)
    applications.request_info(session, application, officer_id=officer.id)
    assert application.deadline_paused_at is not None
    application.deadline_paused_at -= dt.timedelta(hours=10)  # the traveller took ten hours
    session.commit()
    applications.info_received(session, application)
    assert application.status == S.REFERRED
    assert application.decision_deadline is not None
    extended = application.decision_deadline - deadline
    assert dt.timedelta(hours=9, minutes=59) < extended < dt.timedelta(hours=10, minutes=1)


def test_every_change_is_in_the_audit_chain(session):
    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.approve(session, application)
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["application.submitted", "application.screening", "application.approved"]
    details = session.scalars(select(AuditEvent.object_id)).all()
    assert set(details) == {application.reference}  # the reference, never passport data
    assert verified_log(session).ok


def test_references_are_human_friendly():
    seen = {applications.new_reference() for _ in range(2000)}
    assert len(seen) == 2000
    for reference in seen:
        assert reference.startswith("ETA-")
        assert not set(reference.replace("ETA-", "").replace("-", "")) & set("01OIL")
    sample = next(iter(seen))
    assert applications.normalise_reference(sample.lower().replace("-", " ")) == sample


def test_advance_writes_what_transition_writes_with_core_statements(session):
    application = submitted_application(session)
    deadline = utcnow() + dt.timedelta(hours=96)
    moved = applications.advance(
        session,
        application,
        [S.SCREENING, S.REFERRED],
        reason_code="screening_hit",
        decision_deadline=deadline,
    )
    assert moved
    # The object already says what the database holds, without a pending change of its own.
    assert application.status == S.REFERRED and application.version == 2
    assert not session.dirty
    session.commit()
    session.expire_all()
    assert (application.status, application.version) == (S.REFERRED, 2)
    assert abs(application.decision_deadline - deadline) < dt.timedelta(seconds=1)
    steps = [(e.from_status, e.to_status, e.reason_code) for e in application.events]
    assert steps == [
        (None, S.SUBMITTED, None),
        (S.SUBMITTED, S.SCREENING, None),
        (S.SCREENING, S.REFERRED, "screening_hit"),
    ]
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["application.submitted", "application.screening", "application.referred"]
    # Then the ORM's own changes keep linking to the chain and using the version column.
    applications.approve(session, application, officer_id=None)
    assert application.version == 3
    assert verified_log(session).ok


def test_advance_changes_nothing_when_the_application_moved_since_it_was_loaded(session):
    from sqlalchemy.orm import Session

    application = submitted_application(session)
    with Session(session.get_bind()) as other:
        applications.withdraw(other, other.get(type(application), application.id))
    # `application` still says submitted, version 1: the UPDATE must match no row.
    assert not applications.advance(session, application, [S.SCREENING, S.APPROVED])
    session.rollback()
    assert application.status == S.WITHDRAWN
    assert [e.to_status for e in application.events] == [S.SUBMITTED, S.WITHDRAWN]
    assert verified_log(session).ok


def _run_with_hits(application, hits):
    from eta.screening import service

    findings = [
        service.Finding(CheckName.ANSWERS, f"answer_{n}", f"Answered yes ({n})", details={"n": n})
        for n in range(hits)
    ]
    result = service.ScreeningResult(findings, {"threshold": 0.77, "rules": {}})
    return service.run_record(application, result, purpose=service.INITIAL)


@pytest.mark.parametrize("hits", [0, 1, 3])
def test_advance_writes_the_attached_run_and_hits_with_the_decision(session, hits):
    application = submitted_application(session)
    path = [S.SCREENING, S.REFERRED if hits else S.APPROVED]
    assert applications.advance(
        session, application, path, attach=_run_with_hits(application, hits)
    )
    session.commit()
    runs = session.scalars(select(ScreeningRun)).all()
    assert [(run.application_id, run.outcome) for run in runs] == [
        (application.id, "hit" if hits else "clear")
    ]
    assert runs[0].list_versions == {"threshold": 0.77, "rules": {}}
    stored = session.scalars(select(ScreeningHit).order_by(ScreeningHit.id)).all()
    # Each hit belongs to the new run, in the order of the findings.
    assert [(hit.run_id, hit.code, hit.details) for hit in stored] == [
        (runs[0].id, f"answer_{n}", {"n": n}) for n in range(hits)
    ]
    assert [e.to_status for e in application.events] == [S.SUBMITTED, *path]
    assert verified_log(session).ok


def test_advance_writes_no_attached_rows_when_the_application_moved_meanwhile(session):
    from sqlalchemy.orm import Session

    application = submitted_application(session)
    with Session(session.get_bind()) as other:
        applications.withdraw(other, other.get(type(application), application.id))
    attached = _run_with_hits(application, 2)
    assert not applications.advance(
        session, application, [S.SCREENING, S.REFERRED], attach=attached
    )
    session.commit()  # committing what advance wrote, if it wrote anything
    assert session.scalar(select(func.count(ScreeningRun.id))) == 0
    assert session.scalar(select(func.count(ScreeningHit.id))) == 0
    session.expire_all()
    assert [e.to_status for e in application.events] == [S.SUBMITTED, S.WITHDRAWN]
    assert verified_log(session).ok


def test_advance_links_its_audit_records_between_the_transactions_other_ones(session):
    application = submitted_application(session)
    audit.record(session, "test.before", actor="system")  # pending, not yet written
    assert applications.advance(session, application, [S.SCREENING, S.APPROVED])
    audit.record(session, "test.after", actor="system")
    session.commit()
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-4:] == [
        "test.before",
        "application.screening",
        "application.approved",
        "test.after",
    ]
    assert verified_log(session).ok


def test_advance_with_commit_commits_or_ends_the_transaction(session):
    from sqlalchemy.orm import Session

    application = submitted_application(session)
    assert applications.advance(session, application, [S.SCREENING, S.APPROVED], commit=True)
    with Session(session.get_bind()) as other:  # committed: another connection sees it
        assert other.get(type(application), application.id).status == S.APPROVED
    stale = submitted_application(session)
    with Session(session.get_bind()) as other:
        applications.withdraw(other, other.get(type(stale), stale.id))
    assert not applications.advance(session, stale, [S.SCREENING, S.APPROVED], commit=True)
    assert not session().in_transaction()
    assert stale.status == S.WITHDRAWN
    assert verified_log(session).ok


def test_concurrent_decisions_and_audit_records_keep_one_chain(session):
    """Decisions (each with its own transaction) racing ORM audit records: no fork."""
    import threading

    from sqlalchemy.orm import Session

    engine = session.get_bind()
    ids = [submitted_application(session).id for _ in range(20)]
    session.commit()
    errors: list[BaseException] = []

    def decide(mine: list[int]) -> None:
        try:
            with Session(engine) as own:
                for application_id in mine:
                    application = own.get(Application, application_id)
                    assert applications.advance(
                        own, application, [S.SCREENING, S.APPROVED], commit=True
                    )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    def record() -> None:
        try:
            with Session(engine) as own:
                for index in range(20):
                    audit.record(own, "test.orm", actor="system", object_id=index)
                    own.commit()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [
        threading.Thread(target=decide, args=(ids[0::2],)),
        threading.Thread(target=decide, args=(ids[1::2],)),
        threading.Thread(target=record),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verified_log(session)
    assert report.ok, report
    assert report.events == 20 + 20 * 2 + 20  # submitted, screening and approved, records


def test_advance_refuses_an_illegal_path_before_writing(session):
    application = submitted_application(session)
    with pytest.raises(LifecycleError):
        applications.advance(session, application, [S.APPROVED])
    with pytest.raises(LifecycleError):
        applications.advance(session, application, [S.SCREENING, S.REFERRED, S.REFUSED])
    session.rollback()
    assert application.status == S.SUBMITTED
    assert session.scalar(select(func.count(ApplicationEvent.id))) == 1


def test_a_refusal_without_a_confirmed_four_eyes_decision_is_refused(session):
    """The lifecycle itself, not only the officer pages, insists on a second officer."""
    officer = _officer(session)
    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.refer(session, application, deadline=utcnow() + dt.timedelta(hours=96))
    with pytest.raises(applications.RefusalNotConfirmed):
        applications.refuse(session, application, officer_id=officer.id, reason_code="x", note=None)
    session.rollback()


def test_a_proposed_refusal_blocks_approval_in_the_lifecycle(session):
    from eta.models import Decision, DecisionKind

    officer = _officer(session)
    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.refer(session, application, deadline=utcnow() + dt.timedelta(hours=96))
    session.add(
        Decision(
            application_id=application.id,
            kind=DecisionKind.REFUSE,
            reason_code="security",
            proposed_by_id=officer.id,
        )
    )
    session.commit()
    for target in (S.APPROVED, S.INFO_REQUESTED):
        with pytest.raises(applications.RefusalPending):
            applications.transition(
                session, application, target, actor=Actor.OFFICER, officer_id=officer.id
            )
        session.rollback()
    assert application.status == S.REFERRED


def test_an_approval_not_issued_is_referred_with_its_cause_and_only_so(session: object) -> None:
    from eta.models import ApplicationEvent

    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.approve(session, application)
    with pytest.raises(applications.LifecycleError):
        applications.transition(session, application, S.REFERRED)  # no reason: refused
    applications.issuance_failed(
        session, application, cause="token too long", deadline=utcnow() + dt.timedelta(hours=1)
    )
    assert application.status == S.REFERRED
    event = session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.id.desc())
    ).first()
    assert (event.reason_code, event.note) == ("issuance_failed", "token too long")
    with pytest.raises(applications.LifecycleError):
        applications.issuance_failed(session, application, cause="x", deadline=utcnow())
