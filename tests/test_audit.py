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
