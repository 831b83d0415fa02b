"""Screening on a real RQ worker and Redis: each check refers alone, clean ones are approved."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from eta import applications
from eta.models import (
    Application,
    ApplicationEvent,
    Authorisation,
    LostStolenDocument,
    ScreeningHit,
    ScreeningRun,
)
from eta.models import ApplicationStatus as S
from eta.screening import service
from eta.tasks import SCREENING
from eta.timeutil import today, utcnow
from tests.factories import enabled_rule, refused_application, submitted_application


def _screen(session, enqueue_screening, run_jobs, **overrides):
    application = submitted_application(session, **overrides)
    enqueue_screening(application.id)
    run_jobs((SCREENING,))
    session.expire_all()
    return application


def _hits(session, application):
    return session.scalars(
        select(ScreeningHit)
        .join(ScreeningRun)
        .where(ScreeningRun.application_id == application.id)
        .order_by(ScreeningHit.id)
    ).all()


def test_a_clean_application_is_approved_and_issuance_is_enqueued(
    session, redis, enqueue_screening, run_jobs, sample_watchlist
):
    application = _screen(session, enqueue_screening, run_jobs)
    assert application.status == S.APPROVED
    run = session.scalar(select(ScreeningRun).where(ScreeningRun.application_id == application.id))
    assert run.outcome == "clear"
    assert run.algorithm_version == service.ALGORITHM_VERSION
    assert run.list_versions["NATIONAL"] == 1
    assert run.hits == []
    assert [e.to_status for e in application.events] == [S.SUBMITTED, S.SCREENING, S.APPROVED]
    assert redis.exists(f"rq:job:issue-{application.id}")


def test_a_listed_person_with_a_misspelt_name_and_year_only_dob_is_referred(
    session, enqueue_screening, run_jobs, sample_watchlist
):
    application = _screen(
        session,
        enqueue_screening,
        run_jobs,
        given_names="Viktor",
        surname="Drozdow",
        given_names_mrz="VIKTOR",
        surname_mrz="DROZDOW",
        sex="M",
        date_of_birth=dt.date(1968, 5, 17),
        nationality="RUS",
    )
    assert application.status == S.REFERRED
    assert application.decision_deadline is not None
    assert application.decision_deadline > utcnow() + dt.timedelta(hours=95)
    [hit] = _hits(session, application)
    assert (hit.check_name, hit.code) == ("watchlist", "watchlist_match")
    assert hit.watchlist_entry_id is not None
    assert "surname DROZDOW ~ " in hit.explanation  # the listed Latin or Cyrillic spelling
    assert "given names match" in hit.explanation
    assert "DOB year equal" in hit.explanation
    assert "nationality equal" in hit.explanation
    assert hit.explanation.startswith("NATIONAL T-1")


def test_a_namesake_with_another_dob_and_nationality_is_not_referred(
    session, enqueue_screening, run_jobs, sample_watchlist
):
    # T-2 shares the specimen's name, but was born in 1950 and is Norwegian.
    application = _screen(session, enqueue_screening, run_jobs)
    assert application.status == S.APPROVED


def test_an_expired_passport_refers_with_the_document_check(session, enqueue_screening, run_jobs):
    application = _screen(
        session,
        enqueue_screening,
        run_jobs,
        passport_issue_date=today() - dt.timedelta(days=3000),
        passport_expiry_date=today() - dt.timedelta(days=2),
    )
    assert application.status == S.REFERRED
    [hit] = _hits(session, application)
    assert (hit.check_name, hit.code) == ("document", "passport_expired")
    assert hit.explanation.startswith("The passport expired on")


def test_a_lost_passport_refers_even_when_misread(session, enqueue_screening, run_jobs):
    session.add(
        LostStolenDocument(
            issuing_country="SWE",
            number_normalised="L898902C3",
            confusable_key="1898902C3",
            source="INTERPOL",
        )
    )
    session.commit()
    application = _screen(
        session,
        enqueue_screening,
        run_jobs,
        passport_number="L8989O2C3",
        passport_number_normalised="L8989O2C3",
    )
    assert application.status == S.REFERRED
    [hit] = _hits(session, application)
    assert (hit.check_name, hit.code) == ("lost_stolen", "document_lost_stolen_confusable")
    assert "resembles listed lost or stolen document L898902C3" in hit.explanation


def test_an_exact_lost_listing_wins_over_an_earlier_look_alike(session):
    from eta.screening.lost_stolen import confusable_key

    for number in ("L8989O2C3", "L898902C3"):  # the look-alike is listed first
        session.add(
            LostStolenDocument(
                issuing_country="SWE",
                number_normalised=number,
                confusable_key=confusable_key(number),
                source="INTERPOL",
            )
        )
    session.commit()
    application = submitted_application(session)  # passport SWE L898902C3
    context = service.ScreeningContext(session, application, 0.77, today())
    [finding] = service.lost_stolen_check(context)
    assert (finding.code, finding.score) == ("document_lost_stolen", 1.0)
    assert finding.details["exact"] is True


def test_a_risk_rule_refers_and_names_its_version(session, enqueue_screening, run_jobs):
    conditions = {
        "all": [
            {"field": "nationality", "op": "in", "value": ["SWE"]},
            {"field": "travel_purpose", "op": "eq", "value": "business"},
        ]
    }
    version = enabled_rule(session, "Swedish business", conditions, number=2)
    session.commit()
    tourist = _screen(session, enqueue_screening, run_jobs)
    assert tourist.status == S.APPROVED
    business = _screen(
        session,
        enqueue_screening,
        run_jobs,
        travel_purpose="business",
        passport_number="X1234567",
        passport_number_normalised="X1234567",
    )
    assert business.status == S.REFERRED
    [hit] = _hits(session, business)
    assert (hit.check_name, hit.rule_version_id) == ("rule", version.id)
    assert hit.explanation == (
        "Rule 'Swedish business' version 2 matched: nationality in SWE and "
        "travel_purpose = business"
    )


def test_an_earlier_refusal_of_the_passport_refers(session, enqueue_screening, run_jobs):
    earlier = refused_application(session)
    application = _screen(session, enqueue_screening, run_jobs)
    assert application.status == S.REFERRED
    [hit] = _hits(session, application)
    assert (hit.check_name, hit.code) == ("history", "earlier_refusal")
    assert hit.related_application_id == earlier.id
    assert hit.explanation == f"Earlier application {earlier.reference} was refused (same passport)"


def test_the_same_passport_with_another_identity_refers(session, enqueue_screening, run_jobs):
    first = _screen(session, enqueue_screening, run_jobs)
    assert first.status == S.APPROVED
    second = _screen(
        session,
        enqueue_screening,
        run_jobs,
        given_names="Karl",
        given_names_mrz="KARL",
        sex="M",
        date_of_birth=dt.date(1980, 1, 1),
    )
    assert second.status == S.REFERRED
    codes = {hit.code for hit in _hits(session, second)}
    assert codes == {"passport_other_identity", "active_authorisation"}


def test_a_yes_answer_refers(session, enqueue_screening, run_jobs):
    application = _screen(
        session,
        enqueue_screening,
        run_jobs,
        answers={
            "criminal_conviction": True,
            "criminal_conviction_details": "Speeding fine, 2019",
            "previous_refusal": False,
        },
    )
    assert application.status == S.REFERRED
    [hit] = _hits(session, application)
    assert (hit.check_name, hit.code) == ("answers", "answer_criminal_conviction")
    assert hit.explanation == "Answered yes about a criminal conviction: Speeding fine, 2019"


def test_a_check_that_raises_refers_and_is_named(session, enqueue_screening, run_jobs, monkeypatch):
    def broken(ctx):
        raise RuntimeError("index corrupted")

    monkeypatch.setitem(service.CHECKS, service.CheckName.WATCHLIST, broken)
    application = _screen(session, enqueue_screening, run_jobs)
    assert application.status == S.REFERRED
    [hit] = _hits(session, application)
    assert (hit.check_name, hit.code) == ("check_failed", "watchlist_failed")
    assert hit.details == {"check": "watchlist"}
    assert "The watchlist check could not complete (RuntimeError)" in hit.explanation


def test_a_check_that_times_out_refers_after_the_rollback(
    session, enqueue_screening, run_jobs, monkeypatch
):
    from rq.timeouts import JobTimeoutException

    def slow(ctx):
        raise JobTimeoutException("Task exceeded maximum timeout value (180 seconds)")

    monkeypatch.setitem(service.CHECKS, service.CheckName.HISTORY, slow)
    application = _screen(session, enqueue_screening, run_jobs)
    assert application.status == S.REFERRED
    [hit] = _hits(session, application)
    assert (hit.check_name, hit.code) == ("check_failed", "history_failed")
    assert [e.to_status for e in application.events] == [S.SUBMITTED, S.SCREENING, S.REFERRED]


def test_a_withdrawal_during_screening_wins_over_the_decision(
    session, enqueue_screening, run_jobs, monkeypatch
):
    from sqlalchemy.orm import Session

    from eta.extensions import db

    def traveller_withdraws(ctx):
        # Another connection, as the web app would be: the job has only read so far.
        with Session(db.engine) as other:
            applications.withdraw(other, other.get(type(ctx.application), ctx.application.id))
        return []

    monkeypatch.setitem(service.CHECKS, service.CheckName.ANSWERS, traveller_withdraws)
    application = _screen(session, enqueue_screening, run_jobs)
    assert application.status == S.WITHDRAWN
    assert _hits(session, application) == []
    runs = session.scalar(
        select(func.count(ScreeningRun.id)).where(ScreeningRun.application_id == application.id)
    )
    assert runs == 0
    assert [e.to_status for e in application.events] == [S.SUBMITTED, S.WITHDRAWN]


def test_a_job_delivered_twice_makes_one_run_and_one_decision(
    session, redis, enqueue_screening, run_jobs
):
    from eta.outbox import enqueue

    application = submitted_application(session)
    enqueue_screening(application.id)
    # A second delivery under another id (a sweeper racing a slow worker, say).
    enqueue(redis, SCREENING, "workers.screening.screen_application", application.id, job_id="x")
    run_jobs((SCREENING,))
    enqueue_screening(application.id)
    run_jobs((SCREENING,))
    session.expire_all()
    assert application.status == S.APPROVED
    runs = session.scalar(
        select(func.count(ScreeningRun.id)).where(ScreeningRun.application_id == application.id)
    )
    decisions = session.scalar(
        select(func.count(ApplicationEvent.id)).where(
            ApplicationEvent.application_id == application.id,
            ApplicationEvent.to_status == S.APPROVED,
        )
    )
    assert (runs, decisions) == (1, 1)


def test_a_failed_screening_is_recovered_by_the_sweeper(session, redis, run_jobs, app):
    """Redis was down at submission: nothing was queued; the sweeper finds and screens it."""
    from workers.screening import sweep_stuck_applications

    application_id = submitted_application(session).id  # never enqueued
    # The job body releases the session when it returns, as in a worker.
    assert sweep_stuck_applications() == 0  # not stuck yet: just submitted
    app.config["ETA_STUCK_AFTER_SECONDS"] = 0
    try:
        assert sweep_stuck_applications() == 1
    finally:
        app.config["ETA_STUCK_AFTER_SECONDS"] = 300
    run_jobs((SCREENING,))
    assert session.get(Application, application_id).status == S.APPROVED


def test_rescreen_flags_a_new_hit_without_revoking(session, redis, run_jobs, tmp_path):
    from eta.authorisations.rescreen import queue_rescreens
    from eta.screening import lists

    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.approve(session, application)
    session.add(
        Authorisation(
            application_id=application.id,
            jti="jti-1",
            kid="kid",
            valid_from=utcnow(),
            valid_until=utcnow() + dt.timedelta(days=300),
            token="t",
            passport_number_normalised="L898902C3",
            passport_issuing_country="SWE",
        )
    )
    session.commit()
    path = tmp_path / "new.csv"
    path.write_text("id,full_name,date_of_birth,nationality\nX-9,Anna Maria Erikson,1974,SWE\n")
    lists.import_watchlist(session, source="NEW", fmt="csv", path=path, actor="t")

    assert queue_rescreens(session) == 1
    run_jobs((SCREENING,))
    session.expire_all()
    assert application.status == S.APPROVED
    assert application.authorisation.revoked_at is None
    flagged = application.authorisation.flagged_at
    assert flagged is not None
    run = session.scalar(select(ScreeningRun).where(ScreeningRun.purpose == "rescreen"))
    assert [h.code for h in run.hits] == ["watchlist_match"]
    assert "ERIKSSON ~ ERIKSON" in run.hits[0].explanation.upper()

    # Nothing new the second time: the flag stays as it was, a second run is recorded.
    assert queue_rescreens(session) == 1
    run_jobs((SCREENING,))
    session.expire_all()
    assert application.authorisation.flagged_at == flagged


@pytest.mark.parametrize("value", ["0.71"])
def test_the_threshold_setting_defaults_to_the_name_matcher_default(value):
    from config.settings import DEFAULT_MATCH_THRESHOLD
    from eta.screening.names import DEFAULT_THRESHOLD

    assert DEFAULT_MATCH_THRESHOLD == DEFAULT_THRESHOLD == float(value)


@pytest.mark.no_watchlist
def test_with_no_watchlist_loaded_screening_refers_and_readyz_says_why(
    app, session, client, enqueue_screening, run_jobs
):
    """Wave 1 approved every applicant when no watchlist was loaded, and /readyz said 200."""
    application = submitted_application(session)
    application_id = application.id
    session.commit()
    enqueue_screening(application_id)
    run_jobs()
    session.expire_all()
    application = session.get(Application, application_id)
    assert application.status == S.REFERRED
    hits = session.scalars(select(ScreeningHit)).all()
    assert [(h.check_name, h.code) for h in hits] == [("check_failed", "watchlist_failed")]
    assert "no watchlist loaded" in hits[0].explanation
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "no watchlist loaded" in ready.get_json()["detail"]


def test_a_rule_that_no_longer_validates_refers_naming_the_rule(
    app, session, enqueue_screening, run_jobs
):
    """Wave 1: an enabled rule whose conditions no longer validated "never matched"."""
    enabled_rule(session, "broken-rule", {"all": [{"field": "no_such_field", "op": "eq"}]})
    session.commit()
    application_id = submitted_application(session).id
    enqueue_screening(application_id)
    run_jobs()
    session.expire_all()
    assert session.get(Application, application_id).status == S.REFERRED
    hit = session.scalars(select(ScreeningHit)).one()
    assert (hit.check_name, hit.code) == ("check_failed", "rule_invalid")
    assert "broken-rule" in hit.explanation
