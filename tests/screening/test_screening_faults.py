"""Fault drills: a worker killed mid-job, Redis down at submission; decided once all the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from eta.models import Application, ApplicationEvent, ScreeningRun
from eta.models import ApplicationStatus as S
from eta.outbox import enqueue
from eta.tasks import SCREENING
from tests.factories import submitted_application, verified_log
from workers.screening import SCREEN_JOB, TEST_DELAY_VARIABLE, sweep_stuck_applications

ROOT = Path(__file__).resolve().parents[2]


def _status(session, application_id: int) -> str:
    session.expire_all()
    return session.scalar(select(Application.status).where(Application.id == application_id))


def _runs_and_decisions(session, application_id: int) -> tuple[int, int]:
    runs = session.scalar(
        select(func.count(ScreeningRun.id)).where(ScreeningRun.application_id == application_id)
    )
    decisions = session.scalar(
        select(func.count(ApplicationEvent.id)).where(
            ApplicationEvent.application_id == application_id,
            ApplicationEvent.to_status.in_((S.APPROVED, S.REFERRED)),
        )
    )
    return runs, decisions


def _sweep_now(app) -> int:
    app.config["ETA_STUCK_AFTER_SECONDS"] = 0
    try:
        return sweep_stuck_applications()
    finally:
        app.config["ETA_STUCK_AFTER_SECONDS"] = 300


def _job_status(redis, job_id: str) -> str | None:
    return Job(job_id, connection=redis, serializer=JSONSerializer).get_status(refresh=True)


def test_a_worker_killed_mid_job_leaves_the_application_decided_once(app, session, redis, run_jobs):
    application_id = submitted_application(session).id
    job_id = f"screen-{application_id}"
    enqueue(redis, SCREENING, SCREEN_JOB, application_id, job_id=job_id)
    env = {**os.environ, TEST_DELAY_VARIABLE: "60"}
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "eta"), "worker", "--burst", "--queues", SCREENING],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120  # a loaded CI machine starts Python slowly
        # The test delay holds the job after it loaded the application, before any check.
        while _job_status(redis, job_id) != JobStatus.STARTED:
            assert worker.poll() is None, "the worker exited before screening started"
            assert time.monotonic() < deadline, "the worker never started screening"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    session.remove()
    # Killed mid-job: the move to screening is committed with the decision, so nothing was.
    assert _status(session, application_id) == S.SUBMITTED
    assert _runs_and_decisions(session, application_id) == (0, 0)
    assert _job_status(redis, job_id) == JobStatus.STARTED  # RQ still thinks it runs

    assert _sweep_now(app) == 1
    run_jobs((SCREENING,))
    assert _status(session, application_id) == S.APPROVED
    assert _runs_and_decisions(session, application_id) == (1, 1)


def test_redis_down_at_submission_is_decided_after_redis_returns(app, session, run_jobs):
    application_id = submitted_application(session).id
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with pytest.raises(RedisConnectionError):
        enqueue(unreachable, SCREENING, SCREEN_JOB, application_id, job_id="screen-x")
    assert _status(session, application_id) == S.SUBMITTED

    assert _sweep_now(app) == 1  # Redis is back: the periodic sweeper finds it
    run_jobs((SCREENING,))
    assert _status(session, application_id) == S.APPROVED
    assert _runs_and_decisions(session, application_id) == (1, 1)


def test_a_connection_the_server_dropped_fails_one_job_which_is_retried(make_app, session, redis):
    """A worker does not ping pooled connections: a dropped one fails a job, never loses it."""
    from sqlalchemy import text

    from eta.extensions import db
    from eta.tasks import get_queue
    from workers.runner import make_worker
    from workers.screening import screen_job_id

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("terminates a PostgreSQL server process")
    worker_app = make_app({"ETA_DATABASE_PRE_PING": False})
    application_id = submitted_application(session).id
    with worker_app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()  # back to the pool, as between two jobs
    assert session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    session.commit()
    job = enqueue(
        redis, SCREENING, SCREEN_JOB, application_id, job_id=screen_job_id(application_id)
    )

    def work() -> None:
        with worker_app.app_context():
            make_worker(redis, (SCREENING,)).work(burst=True, with_scheduler=False)

    work()
    job.refresh()
    # Failed on the dead connection, retry scheduled (RQ's Retry), nothing recorded.
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.retries_left == 2
    assert _status(session, application_id) == S.SUBMITTED
    assert _runs_and_decisions(session, application_id) == (0, 0)
    # The retry, brought forward instead of waiting out its interval, gets a fresh connection.
    get_queue(SCREENING, redis).enqueue_job(job)
    work()
    assert _status(session, application_id) == S.APPROVED
    assert _runs_and_decisions(session, application_id) == (1, 1)


def test_two_workers_screening_one_application_at_once_decide_once(app, session, monkeypatch):
    """Both runs read and check the application, then decide at the same moment: one wins.

    On PostgreSQL the decision is one statement guarded by the application's version; the
    loser's UPDATE waits for the winner's row, then matches nothing, and writes nothing else.
    """
    import threading

    from eta.screening import service
    from workers.screening import screen_application

    application_id = submitted_application(session).id
    both_checked = threading.Barrier(2, timeout=20)

    def answers_then_wait(ctx):
        both_checked.wait()  # neither decides before both have read version 1
        return []

    monkeypatch.setitem(service.CHECKS, service.CheckName.ANSWERS, answers_then_wait)
    outcomes: list[object] = []

    def worker() -> None:
        try:
            with app.app_context():
                outcomes.append(screen_application(application_id))
        except Exception as error:  # reported below
            outcomes.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Each run returns what it decided or what the other one did: approved, twice.
    assert outcomes == ["approved", "approved"]
    assert _status(session, application_id) == S.APPROVED
    assert _runs_and_decisions(session, application_id) == (1, 1)
    events = session.scalars(
        select(ApplicationEvent.to_status)
        .where(ApplicationEvent.application_id == application_id)
        .order_by(ApplicationEvent.id)
    ).all()
    assert events == [S.SUBMITTED, S.SCREENING, S.APPROVED]
    assert verified_log(session).ok


def test_a_check_whose_table_is_locked_refers_the_application_quickly(make_app, session, redis):
    """Issue 13, finding 4: with lost_stolen_documents locked, the check times out on its own
    statement timeout and the application is referred (check_failed), instead of the job
    hanging until its own timeout and being retried while the application stays submitted."""
    from sqlalchemy import create_engine, text

    from eta.extensions import db
    from eta.models import ScreeningHit
    from workers.runner import make_worker
    from workers.screening import screen_job_id

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("locks a PostgreSQL table from another connection")
    worker_app = make_app({"ETA_CHECK_TIMEOUT_SECONDS": 0.5})
    application_id = submitted_application(session).id
    session.commit()
    other = create_engine(str(session.get_bind().url))
    locker = other.connect()
    try:
        transaction = locker.begin()
        # No SQLAlchemy construct takes a table lock: the one raw statement of this drill.
        locker.execute(text("LOCK TABLE lost_stolen_documents IN ACCESS EXCLUSIVE MODE"))
        job = enqueue(
            redis,
            SCREENING,
            SCREEN_JOB,
            application_id,
            job_id=screen_job_id(application_id),
            timeout=20,  # on main the job hangs this long, then fails and is retried
        )
        started = time.monotonic()
        with worker_app.app_context():
            make_worker(redis, (SCREENING,)).work(burst=True, with_scheduler=False)
            db.session.remove()
        elapsed = time.monotonic() - started
        transaction.rollback()
    finally:
        locker.close()
        other.dispose()
    job.refresh()
    assert _status(session, application_id) == S.REFERRED, job.get_status()
    assert elapsed < 15
    hits = session.scalars(select(ScreeningHit.code)).all()
    assert "lost_stolen_failed" in hits
    assert _runs_and_decisions(session, application_id) == (1, 1)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_redis(port: int, directory: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return server
        except RedisConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_busy_worker_that_loses_redis_reconnects_and_works_on(app, session, tmp_path):
    """Issue 13: a worker busy when Redis went away quit (an idle one reconnected). Drill on a
    redis-server of this test's own: stopped while the worker screens, started again."""
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server to stop and start a Redis of its own")
    port = _free_port()
    server = _start_redis(port, tmp_path)
    own = Redis(host="127.0.0.1", port=port)
    first = submitted_application(session).id
    second = submitted_application(session, passport_number="X1234567").id
    session.commit()
    env = {**os.environ, TEST_DELAY_VARIABLE: "3", "ETA_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "eta"), "worker", "--queues", SCREENING],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        enqueue(own, SCREENING, SCREEN_JOB, first, job_id=f"screen-{first}")
        _wait_for(
            lambda: _job_status(own, f"screen-{first}") == JobStatus.STARTED,
            120,
            "the worker never started screening",
        )
        server.terminate()  # Redis goes away while the job sleeps in its test delay
        server.wait(10)
        _wait_for(lambda: _status(session, first) != S.SUBMITTED, 30, "the job did not decide")
        time.sleep(2)  # the worker has tried to save the job's outcome, and failed
        server = _start_redis(port, tmp_path)  # back, empty
        assert worker.poll() is None, "the worker exited when Redis went away"
        enqueue(own, SCREENING, SCREEN_JOB, second, job_id=f"screen-{second}")
        _wait_for(
            lambda: _status(session, second) != S.SUBMITTED,
            90,
            "the worker did not take a job once Redis was back",
        )
        assert worker.poll() is None
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
        server.terminate()
        server.wait(10)
    # Decided once each (the same traveller's two applications refer each other on history).
    assert _runs_and_decisions(session, second) == (1, 1)
    assert _runs_and_decisions(session, first) == (1, 1)
