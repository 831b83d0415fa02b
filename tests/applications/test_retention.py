"""The retention limit: erase_after set at each end, the purge job, and erased rows' readers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from eta import applications
from eta.applications import retention
from eta.models import (
    Actor,
    Application,
    ApplicationDraft,
    ApplicationEvent,
    AuditEvent,
    Authorisation,
    Carrier,
    CarrierQuery,
    InformationRequest,
    Officer,
    ScreeningHit,
    ScreeningRun,
)
from eta.models import ApplicationStatus as S
from eta.officer.dashboard import Rate, compute
from eta.outbox import enqueue
from eta.screening.rules import age_band
from eta.tasks import MAINTENANCE
from eta.timeutil import utcnow
from tests import factories
from tests.factories import submitted_application, verified_log
from tests.officer.conftest import Staff, session_for
from workers import maintenance

RETENTION = dt.timedelta(days=5 * 365)

PATH_TO = {
    S.REFUSED: [S.SCREENING, S.REFERRED, S.REFUSED],
    S.WITHDRAWN: [S.WITHDRAWN],
    S.REVOKED: [S.SCREENING, S.APPROVED, S.REVOKED],
    S.EXPIRED: [S.SCREENING, S.APPROVED, S.EXPIRED],
    S.SUBMITTED: [],
    S.REFERRED: [S.SCREENING, S.REFERRED],
    S.INFO_REQUESTED: [S.SCREENING, S.REFERRED, S.INFO_REQUESTED],
    S.APPROVED: [S.SCREENING, S.APPROVED],
}


def _officer(session) -> Officer:
    officer = Officer(
        email=f"o-{utcnow().timestamp()}@example.gov", password_hash="x", totp_secret="A" * 32
    )
    session.add(officer)
    session.commit()
    return officer


def _application(session, status: S, officer_id: int, **overrides) -> Application:
    """An application walked to `status` through the lifecycle (the expiry after a validity)."""
    application = submitted_application(session, **overrides)
    for step in PATH_TO[status]:
        if step is S.EXPIRED:
            session.add(_authorisation(application, utcnow() - dt.timedelta(days=3)))
            session.commit()
        if step is S.REFUSED:
            factories.confirm_refusal(session, application, officer_id)
        applications.transition(
            session, application, step, actor=Actor.OFFICER, officer_id=officer_id
        )
    return application


def _authorisation(application: Application, valid_until: dt.datetime) -> Authorisation:
    return Authorisation(
        application_id=application.id,
        jti=f"jti-{application.id}",
        kid="kid",
        valid_from=valid_until - dt.timedelta(days=730),
        valid_until=valid_until,
        token="header.payload-with-names.signature",
        passport_number_normalised=application.passport_number_normalised,
        passport_issuing_country=application.passport_issuing_country,
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@pytest.mark.parametrize("status", [S.REFUSED, S.WITHDRAWN, S.REVOKED, S.EXPIRED])
def test_erase_after_is_the_end_plus_the_retention(session, status):
    officer = _officer(session)
    before = utcnow()
    application = _application(session, status, officer.id)
    after = utcnow()
    assert application.erase_after is not None
    erase_after = _aware(application.erase_after)
    if status is S.EXPIRED:
        # The end is the authorisation's end of validity, not when the expiry job noticed it.
        assert application.authorisation is not None
        assert erase_after == _aware(application.authorisation.valid_until) + RETENTION
    else:
        assert before + RETENTION <= erase_after <= after + RETENTION


@pytest.mark.parametrize("status", [S.SUBMITTED, S.REFERRED, S.INFO_REQUESTED, S.APPROVED], ids=str)
def test_pending_and_valid_applications_have_no_erase_after(session, status):
    officer = _officer(session)
    assert _application(session, status, officer.id).erase_after is None


def test_the_retention_follows_the_setting(session, app, monkeypatch):
    monkeypatch.setitem(app.config, "ETA_RETENTION_DAYS", 30)
    officer = _officer(session)
    application = _application(session, S.WITHDRAWN, officer.id)
    assert application.erase_after is not None
    expected = _aware(application.status_changed_at) + dt.timedelta(days=30)
    assert abs(_aware(application.erase_after) - expected) < dt.timedelta(seconds=1)


def _due(session, application: Application) -> None:
    application.erase_after = utcnow() - dt.timedelta(days=1)
    session.commit()


def _with_personal_attachments(session, application: Application, officer_id: int) -> None:
    """A hit quoting the name, an officer's note and question, an answer, a draft."""
    run = ScreeningRun(application_id=application.id, algorithm_version="t", outcome="hit")
    session.add(run)
    session.flush()
    session.add(
        ScreeningHit(
            run_id=run.id,
            check_name="watchlist",
            code="watchlist_match",
            score=0.93,
            explanation="UN 1234 ERIKSSON ANNA (0.93): Anna Maria Eriksson ~ Ana Erikson",
            details={"source": "UN", "key": "1234", "listed_name": "ERIKSON ANA"},
        )
    )
    session.add(
        InformationRequest(
            application_id=application.id,
            officer_id=officer_id,
            questions="Ms Eriksson, tell us about 2009.",
            answer="It was a misunderstanding at Storgatan 1.",
            answered_at=utcnow(),
        )
    )
    session.add(
        ApplicationDraft(
            token=f"draft-{application.id}",
            expires_at=utcnow() + dt.timedelta(days=1),
            data={"surname": "Eriksson"},
            application_id=application.id,
        )
    )
    for event in application.events:
        event.note = "Spoke to Anna Eriksson on +46701234567"
    session.commit()


PERSONAL = ("Eriksson", "ERIKSSON", "L898902C3", "anna@example.org", "Storgatan", "1974-08-12")


def test_the_job_erases_exactly_the_due_rows_and_keeps_the_skeleton(session, redis, run_jobs):
    officer = _officer(session)
    due_refused = _application(
        session,
        S.REFUSED,
        officer.id,
        answers={"criminal_conviction": True, "criminal_conviction_details": "theft, 2009"},
        phone="+46701234567",
    )
    _with_personal_attachments(session, due_refused, officer.id)
    _due(session, due_refused)
    due_revoked = _application(session, S.REVOKED, officer.id, passport_number="P1")
    session.add(_authorisation(due_revoked, utcnow() - dt.timedelta(days=10)))
    session.commit()
    _due(session, due_revoked)
    # Ended before erase_after was set: due once its last change is older than the retention.
    legacy = _application(session, S.WITHDRAWN, officer.id, passport_number="P2")
    legacy.erase_after = None
    legacy.status_changed_at = utcnow() - RETENTION - dt.timedelta(days=1)
    session.commit()
    not_yet = _application(session, S.WITHDRAWN, officer.id, passport_number="P3")
    pending = _application(session, S.REFERRED, officer.id, passport_number="P4")
    valid = _application(session, S.APPROVED, officer.id, passport_number="P5")
    for untouchable in (pending, valid):
        # Never erased while pending or valid, whatever erase_after says.
        _due(session, untouchable)
    carrier = Carrier(name="Retention Air")
    session.add(carrier)
    session.flush()
    session.add_all(
        [
            CarrierQuery(
                carrier_id=carrier.id,
                at=utcnow() - RETENTION - dt.timedelta(days=1),
                kind="passport",
                result="OK",
                passport_hash="a" * 64,
            ),
            CarrierQuery(
                carrier_id=carrier.id,
                at=utcnow(),
                kind="passport",
                result="OK",
                passport_hash="b" * 64,
            ),
        ]
    )
    session.commit()
    assert retention.count_due(session) == retention.RetentionResult(3, 1)

    enqueue(redis, MAINTENANCE, maintenance.erase_personal_data, job_id="erase-test")
    assert run_jobs((MAINTENANCE,))
    session.expire_all()

    for erased in (due_refused, due_revoked, legacy):
        assert erased.erased_at is not None
        for column in retention.PERSONAL_COLUMNS:
            assert getattr(erased, column) is None, column
        # The skeleton: what statistics and the case history need.
        assert erased.reference.startswith("ETA-")
        assert (erased.nationality, erased.sex, erased.address_country) == ("SWE", "F", "SWE")
        assert erased.age_at_submission == retention._age(dt.date(1974, 8, 12), erased.created_at)
        assert erased.events
    assert due_refused.status == S.REFUSED
    assert due_refused.answers == {"criminal_conviction": True}
    assert [e.note for e in due_refused.events] == [None] * len(due_refused.events)
    hit = session.scalars(
        select(ScreeningHit).join(ScreeningRun).where(ScreeningRun.application_id == due_refused.id)
    ).one()
    assert (hit.check_name, hit.code, hit.score) == ("watchlist", "watchlist_match", 0.93)
    assert hit.explanation == retention.ERASED_TEXT
    assert hit.details == {"source": "UN", "key": "1234"}
    request = session.scalars(
        select(InformationRequest).where(InformationRequest.application_id == due_refused.id)
    ).one()
    assert (request.questions, request.answer) == (retention.ERASED_TEXT, None)
    assert session.scalars(select(ApplicationDraft)).all() == []
    authorisation = due_revoked.authorisation
    assert authorisation is not None
    assert (authorisation.token, authorisation.passport_number_normalised) == (None, None)
    assert authorisation.jti == f"jti-{due_revoked.id}"  # the revocation list still names it
    assert [q.passport_hash for q in session.scalars(select(CarrierQuery))] == ["b" * 64]

    for kept in (not_yet, pending, valid):
        assert kept.erased_at is None
        assert (kept.surname, kept.date_of_birth) == ("Eriksson", dt.date(1974, 8, 12))

    # One audit event per batch, in the chain, which is still intact; no event names anyone.
    erased_events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "retention.erased")
    ).all()
    assert [event.details for event in erased_events] == [{"count": 3}]
    assert verified_log(session).ok
    for event in session.scalars(select(AuditEvent)):
        text = json.dumps([event.actor, event.object_id, event.details])
        assert not any(value in text for value in PERSONAL), text

    # Idempotent: a second run finds nothing and records nothing.
    assert retention.count_due(session) == retention.RetentionResult(0, 0)
    enqueue(redis, MAINTENANCE, maintenance.erase_personal_data, job_id="erase-again")
    assert run_jobs((MAINTENANCE,))
    assert (
        len(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.erased")).all()
        )
        == 1
    )


def test_batches_commit_one_by_one(session):
    officer = _officer(session)
    for number in range(5):
        _due(session, _application(session, S.WITHDRAWN, officer.id, passport_number=f"B{number}"))
    result = retention.erase_due(session, batch_size=2)
    assert result == retention.RetentionResult(5, 0)
    counts = [
        event.details["count"]
        for event in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "retention.erased")
            .order_by(AuditEvent.id)
        )
    ]
    assert counts == [2, 2, 1]


def test_a_run_stopped_by_its_time_limit_leaves_whole_batches(session):
    officer = _officer(session)
    for number in range(3):
        _due(session, _application(session, S.WITHDRAWN, officer.id, passport_number=f"T{number}"))
    # A limit already passed: the run stops before its first batch and says it did not finish.
    assert retention.erase_due(session, time_limit=-1) == retention.RetentionResult(
        0, 0, finished=False
    )
    assert retention.count_due(session).applications == 3


def test_erased_applications_do_not_break_their_readers(app, session, client):
    officer = _officer(session)
    application = _application(session, S.REFUSED, officer.id)
    _with_personal_attachments(session, application, officer.id)
    _due(session, application)
    other = _application(session, S.REFUSED, officer.id)  # the same person, not yet due
    assert retention.erase_due(session).applications == 1
    reference, application_id = application.reference, application.id

    # Traveller: the status look-up no longer finds it (as for wrong details).
    response = client.post(
        "/api/v1/applications/status",
        json={
            "reference": reference,
            "passport_number": "L898902C3",
            "date_of_birth": "1974-08-12",
        },
    )
    assert response.status_code == 404

    staff = Staff(officer.id, officer.email, "officer", officer.totp_secret)
    officer_client = session_for(app, app.test_client(), staff)
    page = officer_client.get(f"/officer/cases/{application_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Personal data erased" in text
    assert not any(value in text for value in PERSONAL)
    # The same person's other case no longer lists the erased one as history.
    other_page = officer_client.get(f"/officer/cases/{other.id}").get_data(as_text=True)
    assert reference not in other_page
    assert officer_client.get("/officer/").status_code == 200


def test_the_dashboard_counts_an_erased_application_in_its_age_band(session):
    officer = _officer(session)
    application = _application(session, S.REFUSED, officer.id)
    _due(session, application)
    assert retention.erase_due(session).applications == 1
    session.expire_all()
    assert application.date_of_birth is None
    age = retention._age(dt.date(1974, 8, 12), application.created_at)
    assert age is not None and application.age_at_submission == age
    board = compute(session, utcnow(), 30)
    # Referred (and refused), counted in the band of its age at submission.
    assert board.fairness["age_band"] == [Rate(age_band(age), 1, 1)]


def test_the_cli_counts_then_erases(session, runner):
    officer = _officer(session)
    _due(session, _application(session, S.WITHDRAWN, officer.id))
    result = runner.invoke(args=["retention", "run", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would erase 1 application(s)" in result.output
    assert retention.count_due(session).applications == 1
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "Erased 1 application(s)" in result.output
    assert runner.invoke(args=["retention", "run"]).output.startswith("Erased 0 application(s)")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.erased")).one()
    assert event.actor == "operator"


def test_an_erased_event_row_keeps_its_history(session):
    officer = _officer(session)
    application = _application(session, S.REFUSED, officer.id)
    _due(session, application)
    retention.erase_due(session)
    statuses = session.scalars(
        select(ApplicationEvent.to_status)
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.id)
    ).all()
    assert statuses == ["submitted", "screening", "referred", "refused"]


def test_the_purge_is_a_daily_periodic_job():
    from workers.periodic import PERIODIC_JOBS

    periodic = {job.id: job for job in PERIODIC_JOBS}["erase-personal-data"]
    assert (periodic.func, periodic.every) == (maintenance.erase_personal_data, 24 * 3600)


def test_a_row_another_run_holds_is_skipped_not_waited_for(session, app):
    """PostgreSQL: a concurrent run's locked batch is skipped, then erased once it is free."""
    from eta.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with its database lock: nothing to skip")
    officer = _officer(session)
    held = _application(session, S.WITHDRAWN, officer.id, passport_number="H1")
    free = _application(session, S.WITHDRAWN, officer.id, passport_number="H2")
    _due(session, held)
    _due(session, free)
    with db.engine.connect() as other:
        # Another run's open transaction holds `held`'s row, as erase_batch's SELECT would.
        other.execute(
            select(Application.id).where(Application.id == held.id).with_for_update()
        ).all()
        assert retention.erase_due(session).applications == 1
        other.rollback()
    session.expire_all()
    assert (held.erased_at, free.erased_at is not None) == (None, True)
    assert retention.erase_due(session).applications == 1
    session.expire_all()
    assert held.erased_at is not None


def test_a_carrier_no_longer_finds_an_erased_passport(session, client):
    from eta.accounts import create_carrier

    _carrier, key = create_carrier(session, "Retention Air")
    headers = {"Authorization": f"Bearer {key}"}
    query = {"passport_number": "R1", "issuing_country": "SWE"}
    officer = _officer(session)
    application = _application(
        session, S.REFUSED, officer.id, passport_number="R1", passport_number_normalised="R1"
    )
    answer = client.post("/api/v1/carrier/verify", json=query, headers=headers).get_json()
    assert (answer["result"], answer["reason"]) == ("NOT_OK", "refused")
    _due(session, application)
    assert retention.erase_due(session).applications == 1
    answer = client.post("/api/v1/carrier/verify", json=query, headers=headers).get_json()
    assert (answer["result"], answer["reason"]) == ("NOT_OK", "not_found")
