"""An approval that cannot be issued goes to an officer, once, with its cause (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

from eta import outbox, tasks
from eta.extensions import db
from eta.models import Application, ApplicationEvent, ApplicationStatus, Authorisation
from tests.authorisations.test_issuing_jobs import approved


def test_an_approval_that_cannot_be_issued_is_referred_once_with_its_cause(
    session: Any,
    app: Flask,
    redis: Redis,
    run_jobs: Callable[..., bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wave 1: the job raised, retries ran out, the sweeper re-enqueued it every minute for ever,
    the traveller read "being issued" and carriers "pending", and no officer was told."""
    from workers.screening import sweep_stuck_applications

    # A token that cannot fit the QR code: a permanent failure (IssuanceError).
    monkeypatch.setitem(app.config, "ETA_ISSUER", "https://" + "x" * 400 + ".example")
    monkeypatch.setitem(app.config, "ETA_STUCK_AFTER_SECONDS", 0)
    application = approved(session)
    outbox.add(session, tasks.ISSUE, application.id, key=f"issue-{application.id}")
    outbox.commit(session, redis)
    run_jobs((tasks.ISSUANCE,))

    session.expire_all()
    case = session.get(Application, application.id)
    assert case.status == ApplicationStatus.REFERRED
    assert case.decision_deadline is not None
    event = case.events[-1]
    assert (event.from_status, event.reason_code) == (ApplicationStatus.APPROVED, "issuance_failed")
    assert "does not fit a version-18 QR code" in (event.note or "")
    issued = select(Authorisation).where(Authorisation.application_id == case.id)
    assert session.scalar(issued) is None
    with app.app_context():
        assert outbox.is_done(db.session, f"issue-{case.id}")  # never retried for ever
        assert sweep_stuck_applications() == 0  # nothing to re-enqueue
        referred_events = db.session.scalars(
            select(ApplicationEvent).where(
                ApplicationEvent.application_id == case.id,
                ApplicationEvent.reason_code == "issuance_failed",
            )
        ).all()
        assert len(referred_events) == 1

    # The traveller and carriers are told what they are told of any referred case.
    client = app.test_client()
    status = client.post(
        "/api/v1/applications/status",
        json={
            "reference": case.reference,
            "passport_number": "L898902C3",
            "date_of_birth": case.date_of_birth.isoformat(),
        },
    )
    assert status.status_code == 200
    assert status.get_json()["status"] == "referred"
