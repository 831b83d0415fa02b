"""The audit log's hash chain: intact after normal work, broken by any edit, named by event."""

from __future__ import annotations

from sqlalchemy import text

from eta import audit
from eta.models import AuditEvent


def test_an_edited_event_breaks_the_chain_at_that_event(session, runner):
    for index in range(5):
        audit.record(session, "test.event", actor="system", object_id=index, details={"n": index})
    session.commit()
    assert audit.verify_chain(session).ok
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 events" in result.output

    third = session.query(AuditEvent).order_by(AuditEvent.id).offset(2).first()
    session.execute(
        text("UPDATE audit_events SET details = :d WHERE id = :id"),
        {"d": '{"n": 99}', "id": third.id},
    )
    session.commit()
    session.expire_all()
    report = audit.verify_chain(session)
    assert not report.ok
    assert report.broken_event_id == third.id

    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"broken at event {third.id}" in result.output


def test_a_deleted_event_breaks_the_link(session):
    for index in range(3):
        audit.record(session, "test.event", actor="system", object_id=index)
    session.commit()
    second = session.query(AuditEvent).order_by(AuditEvent.id).offset(1).first()
    third_id = second.id + 1
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": second.id})
    session.commit()
    session.expire_all()
    report = audit.verify_chain(session)
    assert report.broken_event_id == third_id
    assert "link" in (report.problem or "")


def test_events_of_one_transaction_chain_with_one_look_up_of_the_head(session):
    from sqlalchemy import event

    audit.record(session, "test.before", actor="system")
    session.commit()
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for index in range(3):
            audit.record(session, "test.event", actor="system", object_id=index)
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # On PostgreSQL the head is read in the same round trip as the chain's lock is taken.
    head_reads = [s for s in statements if "FROM AUDIT_EVENTS ORDER BY" in s.upper()]
    assert len(head_reads) == 1
    assert audit.verify_chain(session).ok
    assert audit.verify_chain(session).events == 4


def test_an_event_rolled_back_with_a_savepoint_is_not_linked_to(session):
    audit.record(session, "test.kept", actor="system", object_id=1)
    savepoint = session.begin_nested()
    audit.record(session, "test.dropped", actor="system", object_id=2)
    savepoint.rollback()
    audit.record(session, "test.kept", actor="system", object_id=3)
    session.commit()
    report = audit.verify_chain(session)
    assert report.ok
    assert report.events == 2


def test_a_new_transaction_reads_the_head_again(session):
    audit.record(session, "test.one", actor="system")
    session.commit()
    audit.record(session, "test.rolled_back", actor="system")
    session.rollback()
    audit.record(session, "test.two", actor="system")
    session.commit()
    assert audit.verify_chain(session).ok
    assert audit.verify_chain(session).events == 2


def test_concurrent_writers_never_fork_the_chain(session):
    """Two connections appending at once, through record() and append(): one chain, no fork.

    On PostgreSQL this checks that the head is read after the chain's lock is held (read in
    the same round trip, it must not come from a snapshot taken before the wait); on SQLite,
    that a transaction whose first change is an audit event holds the write lock before it
    reads the head.
    """
    import threading

    from sqlalchemy.orm import Session

    engine = session.get_bind()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with Session(engine) as own:
                for index in range(15):
                    if worker == 0:
                        audit.record(own, "test.orm", actor="system", object_id=index)
                        audit.record(own, "test.orm", actor="system", object_id=index)
                    else:
                        audit.append(
                            own,
                            [audit.Entry("test.core", "system", "t", str(index))] * 2,
                        )
                    own.commit()
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = audit.verify_chain(session)
    assert report.ok, report
    assert report.events == 60
