"""The checks' queries read ahead in one round trip on PostgreSQL: same findings, same failures."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, literal_column, select, table

from eta.models import LostStolenDocument
from eta.screening import history, service
from eta.screening.lists.store import active_watchlists
from eta.timeutil import today
from tests.factories import enabled_rule, refused_application, submitted_application


@pytest.fixture
def findings_of_every_reading_check(session):
    """An application that the lost/stolen, rule and history checks each refer."""
    session.add(
        LostStolenDocument(
            issuing_country="SWE",
            number_normalised="L898902C3",
            confusable_key="1898902C3",
            source="INTERPOL",
        )
    )
    conditions = {
        "all": [
            {"field": "nationality", "op": "in", "value": ["SWE"]},
            {"field": "travel_purpose", "op": "eq", "value": "tourism"},
        ]
    }
    enabled_rule(session, "Swedish", conditions)
    refused_application(session)
    return submitted_application(session)  # the same passport, SWE L898902C3


def _screen(session, application):
    """Screen, and count the statements that went through SQLAlchemy meanwhile."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    session.get(type(application), application.id)  # loaded, as the job has it
    active_watchlists(session)  # the worker's index is built once, before its first job
    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = service.screen(session, application, today=today())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [(f.check.value, f.code) for f in result.findings], statements


def test_the_checks_read_ahead_together_and_find_the_same(
    session, findings_of_every_reading_check, monkeypatch
):
    application = findings_of_every_reading_check
    found, statements = _screen(session, application)
    assert found == [
        ("lost_stolen", "document_lost_stolen"),
        ("rule", "rule_matched"),
        ("history", "earlier_refusal"),
    ]
    if session.get_bind().dialect.name == "postgresql":
        # All six queries (the face check's photo row and the chip check's row too) went to the
        # server in one batch, outside SQLAlchemy's statements.
        assert statements == []
    else:
        assert len(statements) == 6  # nothing to batch: one query per check
    session.rollback()
    monkeypatch.setattr(service, "fetch_together", lambda session, queries: None)
    one_by_one, statements = _screen(session, application)
    assert one_by_one == found
    assert len(statements) == 6


def test_a_query_that_fails_in_the_batch_fails_only_its_own_check(
    session, findings_of_every_reading_check, monkeypatch, caplog
):
    application = findings_of_every_reading_check
    broken = select(literal_column("id")).select_from(table("no_such_table"))
    monkeypatch.setattr(history, "others_query", lambda application: (broken, {}))
    with caplog.at_level(logging.WARNING, logger="eta"):
        found, _ = _screen(session, application)
    # The batch failed as a whole; each query then ran on its own, and only history failed.
    assert found == [
        ("lost_stolen", "document_lost_stolen"),
        ("rule", "rule_matched"),
        ("check_failed", "history_failed"),
    ]
    if session.get_bind().dialect.name == "postgresql":
        assert "pipelined reads failed (UndefinedTable)" in caplog.text


def test_a_timeout_while_reading_ahead_refers_the_application(
    session, enqueue_screening, run_jobs, monkeypatch
):
    """The job's timeout is not a failed read: it stops screening, which refers (fails closed)."""
    from rq.timeouts import JobTimeoutException

    from eta.models import ApplicationStatus, ScreeningHit
    from eta.tasks import SCREENING

    def too_slow(session, queries):
        raise JobTimeoutException("Task exceeded maximum timeout value (180 seconds)")

    monkeypatch.setattr(service, "fetch_together", too_slow)
    application = submitted_application(session)
    enqueue_screening(application.id)
    run_jobs((SCREENING,))
    session.expire_all()
    assert application.status == ApplicationStatus.REFERRED
    [hit] = session.scalars(select(ScreeningHit)).all()
    assert hit.check_name == "check_failed"
    assert "timed out" in hit.explanation
