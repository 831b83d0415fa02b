"""Fault drills for the outbox: work survives Redis being down or losing its data, once each.

Real parts: a real SMTP server (aiosmtpd), the real RQ worker, the test Redis, and for "Redis
down" a real client pointed at a port where nothing listens.
"""

from __future__ import annotations

import datetime as dt

import pytest
from redis import Redis
from sqlalchemy import func, select

from eta import outbox
from eta.applications import decisions
from eta.extensions import RedisClient, db
from eta.models import Application, ApplicationStatus, Officer, OutboxMessage
from eta.timeutil import utcnow
from tests.officer.conftest import referred_case

# Nothing listens on the discard port here: connecting fails at once, as when Redis is down.
DOWN = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)


def _officers(session):
    proposer = Officer(email="p@example.gov", password_hash="x", totp_secret="x")
    supervisor = Officer(
        email="s@example.gov", password_hash="x", totp_secret="x", role="supervisor"
    )
    session.add_all([proposer, supervisor])
    session.commit()
    return proposer, supervisor


def test_redis_down_while_an_officer_refuses_the_email_arrives_after_it_returns(
    app, smtp_server, run_jobs
):
    """Wave 1 enqueued the refusal email once, best effort: with Redis down it was lost."""
    with app.app_context():
        application = referred_case(db.session)
        proposer, supervisor = _officers(db.session)
        decision = decisions.propose_refusal(
            db.session,
            application,
            proposer,
            version=application.version,
            reason_code="security",
            note="Listed person",
        )
        with pytest.MonkeyPatch.context() as redis_down:
            redis_down.setattr(RedisClient, "client", property(lambda _self: DOWN))
            decisions.confirm_refusal(
                db.session, application, decision, supervisor, version=application.version
            )
        assert application.status == ApplicationStatus.REFUSED
        row = db.session.scalars(select(OutboxMessage)).one()
        assert row.sent_at is None  # the push failed: the row waits for the relay
        # The relay finds Redis down too: the row backs off, counted as failing.
        assert outbox.relay(db.session, DOWN) == 0
        assert outbox.status(db.session)["failing"] == 1
        application_id = application.id
    assert smtp_server.messages == []
    # Redis is back: the next relay (after the backoff) pushes it, the worker emails once.
    with app.app_context():
        from eta.extensions import redis_client

        later = utcnow() + dt.timedelta(minutes=1)
        assert outbox.relay(db.session, redis_client.client, now=later) == 1
    run_jobs()
    assert len(smtp_server.messages) == 1
    assert "Decision on your ETA application" in smtp_server.messages[0]["Subject"]
    with app.app_context():
        from eta.extensions import redis_client

        assert outbox.status(db.session)["not_done"] == 0
        # A relay much later pushes nothing: the job marked its row done.
        much_later = utcnow() + outbox.RESEND_AFTER * 2
        assert outbox.relay(db.session, redis_client.client, now=much_later) == 0
        assert db.session.get(Application, application_id) is not None
    run_jobs()
    assert len(smtp_server.messages) == 1


def test_receipts_survive_redis_losing_its_jobs_and_arrive_once(app, client, smtp_server, run_jobs):
    """Wave 1 lost 2,779 of 5,384 receipt emails when Redis lost its jobs."""
    from tests.factories import valid_payload

    references = []
    for number in ("L898902C3", "X1234567", "Y7654321"):
        body = valid_payload()
        body["passport"]["number"] = number
        response = client.post("/api/v1/applications", json=body)
        assert response.status_code == 202, response.get_json()
        references.append(response.get_json()["reference"])
    with app.app_context():
        from eta.extensions import redis_client

        assert len(db.session.scalars(select(OutboxMessage)).all()) == 6  # screen + receipt each
        redis_client.client.flushdb()  # Redis restarted without its data
        # Pushed, never done: after RESEND_AFTER the relay pushes every one again.
        assert outbox.relay(db.session, redis_client.client) == 0
        later = utcnow() + outbox.RESEND_AFTER + dt.timedelta(seconds=1)
        assert outbox.relay(db.session, redis_client.client, now=later) == 6
        # Pushing again while the jobs still wait queues nothing twice (same job ids).
        for row in db.session.scalars(select(OutboxMessage)):
            row.sent_at = utcnow() - outbox.RESEND_AFTER * 2
        db.session.commit()
        assert outbox.relay(db.session, redis_client.client, now=later) == 6
    run_jobs()
    subjects = [m["Subject"] for m in smtp_server.messages]
    receipts = [s for s in subjects if "received" in s.lower()]
    assert sorted(r for r in references for s in receipts if r in s) == sorted(references)
    assert len(receipts) == 3
    assert len(subjects) == len(set(subjects))  # screened and approved too: no email twice


def test_rescreens_queued_while_redis_is_down_wait_for_the_relay(app, run_jobs):
    """Wave 1's `eta rescreen` failed outright with Redis down; now the rows wait."""
    from eta.authorisations.rescreen import queue_rescreens
    from eta.models import Authorisation
    from tests.factories import submitted_application

    with app.app_context():
        application = submitted_application(db.session)
        from eta import applications

        applications.start_screening(db.session, application)
        applications.approve(db.session, application)
        db.session.add(
            Authorisation(
                application_id=application.id,
                jti="jti-r",
                kid="kid",
                valid_from=utcnow(),
                valid_until=utcnow() + dt.timedelta(days=30),
                token="t",
                passport_number_normalised="L898902C3",
                passport_issuing_country="SWE",
            )
        )
        db.session.commit()
        with pytest.MonkeyPatch.context() as redis_down:
            redis_down.setattr(RedisClient, "client", property(lambda _self: DOWN))
            assert queue_rescreens(db.session) == 1
            assert queue_rescreens(db.session) == 1  # a second round: its own rows
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert [row.sent_at for row in rows] == [None, None]
        from eta.extensions import redis_client

        assert outbox.relay(db.session, redis_client.client) == 2


RELAY_SCRIPT = """
from eta import create_app, outbox
from eta.extensions import db, redis_client

app = create_app()
with app.app_context():
    print(outbox.relay(db.session, redis_client.client), flush=True)
"""


def _queued(connection, *queues):
    return sum(connection.llen(f"rq:queue:{name}") for name in queues)


def test_a_relay_killed_mid_batch_loses_nothing_and_sends_nothing_twice(app, smtp_server, run_jobs):
    """A real relay process is SIGKILLed while it pushes: its batch is neither lost nor doubled.

    The killed relay pushed some jobs to Redis but never committed `sent_at`: the database still
    says every row is due. The worker runs what reached Redis; the next relay pushes the rest
    (and again what is queued but not done, which RQ keeps once by its job id).
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    from eta.applications.submission import submit_application
    from eta.extensions import redis_client
    from eta.tasks import NOTIFICATIONS, SCREENING
    from tests.factories import application_fields

    travellers = 250  # a receipt and a screening row each: one full relay batch
    with app.app_context():
        with pytest.MonkeyPatch.context() as redis_down:
            redis_down.setattr(RedisClient, "client", property(lambda _self: DOWN))
            for n in range(travellers):
                number = f"K{n:07d}"
                fields = application_fields(
                    passport_number=number,
                    passport_number_normalised=number,
                    email=f"t{n}@example.org",
                )
                submit_application(fields, channel="api")
        assert db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None))) == (
            2 * travellers
        )
        connection = redis_client.client
        relay = subprocess.Popen(
            [sys.executable, "-c", RELAY_SCRIPT], stdout=subprocess.DEVNULL, env=os.environ.copy()
        )
        deadline = time.monotonic() + 60
        while _queued(connection, NOTIFICATIONS, SCREENING) < 10:
            assert relay.poll() is None, "the relay finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        relay.send_signal(signal.SIGKILL)
        assert relay.wait(timeout=30) == -signal.SIGKILL
        pushed_before_kill = _queued(connection, NOTIFICATIONS, SCREENING)
        print(f"pushed before the kill: {pushed_before_kill}")
        assert 0 < pushed_before_kill < 2 * travellers
        db.session.expire_all()
        # The relay died before its commit: nothing is marked sent, nothing is lost.
        assert db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None))) == (
            2 * travellers
        )

    run_jobs((NOTIFICATIONS,))  # the receipts that reached Redis before the kill
    early = len(smtp_server.messages)
    assert 0 < early < travellers
    with app.app_context():
        # Rows done are not pushed again; queued screening jobs are pushed again (same job id).
        assert outbox.relay(db.session, redis_client.client) == 2 * travellers - early
        assert _queued(redis_client.client, NOTIFICATIONS) == travellers - early
    run_jobs((NOTIFICATIONS,))
    recipients = sorted(message["To"] for message in smtp_server.messages)
    assert recipients == sorted(f"t{n}@example.org" for n in range(travellers))
    with app.app_context():
        receipts_done = db.session.scalar(
            select(func.count()).where(
                OutboxMessage.key.like("notify-%-submitted"), OutboxMessage.done_at.is_not(None)
            )
        )
        assert receipts_done == travellers


def _clean_application(session, tmp_path):
    """A submitted application that screening approves (an unrelated list is loaded)."""
    from eta.screening import lists
    from tests.factories import submitted_application
    from tests.screening.conftest import BASELINE_LIST

    path = tmp_path / "baseline.csv"
    path.write_text(BASELINE_LIST, encoding="utf-8")
    lists.import_watchlist(session, source="BASELINE", fmt="csv", path=path, actor="test")
    return submitted_application(session)


def test_redis_down_at_a_screening_approval_issuance_and_email_follow_the_relay(
    app, smtp_server, run_jobs, tmp_path
):
    """Wave 1 enqueued issuance straight from the screening job: with Redis down it waited for
    the sweeper, and the approved email was enqueued by issuance, best effort."""
    from eta.extensions import redis_client
    from eta.models import Authorisation
    from workers.screening import screen_application

    with app.app_context():
        application = _clean_application(db.session, tmp_path)
        application_id = application.id
        with pytest.MonkeyPatch.context() as redis_down:
            redis_down.setattr(RedisClient, "client", property(lambda _self: DOWN))
            assert screen_application(application_id) == "approved"
        issue_row = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == f"issue-{application_id}")
        ).one()
        assert issue_row.sent_at is None  # written with the approval, waiting for the relay
        assert outbox.relay(db.session, redis_client.client) == 1
    run_jobs()  # issuance, then the approved email it wrote as an outbox row
    with app.app_context():
        assert db.session.scalar(
            select(Authorisation).where(Authorisation.application_id == application_id)
        )
        assert outbox.status(db.session)["not_done"] == 0
    assert len(smtp_server.messages) == 1


def test_redis_down_at_issuance_the_approved_email_follows_the_relay(
    app, smtp_server, run_jobs, tmp_path
):
    """Wave 1's issuance job enqueued the email once: with Redis down it was lost for good."""
    from eta import applications
    from eta.extensions import redis_client
    from tests.factories import submitted_application
    from workers.issuance import issue_authorisation

    with app.app_context():
        application = submitted_application(db.session)
        applications.start_screening(db.session, application)
        applications.approve(db.session, application)
        with pytest.MonkeyPatch.context() as redis_down:
            redis_down.setattr(RedisClient, "client", property(lambda _self: DOWN))
            assert issue_authorisation(application.id) == application.reference
        row = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.key == f"notify-approved-{application.id}")
        ).one()
        assert row.sent_at is None
        assert outbox.relay(db.session, redis_client.client) == 1
    run_jobs()
    assert len(smtp_server.messages) == 1
    with app.app_context():
        assert outbox.status(db.session)["not_done"] == 0
