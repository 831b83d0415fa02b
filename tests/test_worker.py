"""Jobs on real Redis with a real RQ worker: ids only, JSON, idempotent, periodic once."""

from __future__ import annotations

import datetime as dt
import json
import zlib

from rq import get_current_job
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker.base import BaseWorker

from eta import applications
from eta.models import ApplicationStatus as S
from eta.models import Authorisation
from eta.timeutil import utcnow
from tests.factories import submitted_application
from workers import maintenance
from workers.enqueue import enqueue
from workers.periodic import PERIODIC_JOBS, tick
from workers.queues import ALL_QUEUES, MAINTENANCE, get_queue
from workers.runner import EtaWorker, make_worker


def _approved_with_authorisation(session, valid_until):
    application = submitted_application(session)
    applications.start_screening(session, application)
    applications.approve(session, application)
    session.add(
        Authorisation(
            application_id=application.id,
            jti=f"jti-{application.id}",
            kid="kid",
            valid_from=utcnow() - dt.timedelta(days=800),
            valid_until=valid_until,
            token="header.payload.signature",
            passport_number_normalised=application.passport_number_normalised,
            passport_issuing_country=application.passport_issuing_country,
        )
    )
    session.commit()
    return application


def test_a_maintenance_job_runs_end_to_end_on_a_real_worker(session, redis, run_jobs):
    expired = _approved_with_authorisation(session, utcnow() - dt.timedelta(minutes=1))
    current = _approved_with_authorisation(session, utcnow() + dt.timedelta(days=30))
    job = enqueue(redis, MAINTENANCE, maintenance.expire_authorisations, job_id="expire-test")

    # The job carries no personal data: only the function's name, as JSON.
    raw = redis.hget(f"rq:job:{job.id}", "data")
    assert raw is not None
    decoded = json.loads(zlib.decompress(raw))
    assert decoded[0] == "workers.maintenance.expire_authorisations"
    assert decoded[2] == []

    assert run_jobs((MAINTENANCE,))
    session.expire_all()
    assert expired.status == S.EXPIRED
    assert current.status == S.APPROVED
    assert Job.fetch(job.id, connection=redis, serializer=JSONSerializer).return_value() == 1

    # Running it again changes nothing: the job is idempotent.
    enqueue(redis, MAINTENANCE, maintenance.expire_authorisations, job_id="expire-test")
    run_jobs((MAINTENANCE,))
    session.expire_all()
    assert [e.to_status for e in expired.events].count(S.EXPIRED) == 1


def test_a_waiting_job_is_not_enqueued_twice(redis):
    first = enqueue(redis, MAINTENANCE, maintenance.purge_expired_drafts, job_id="purge-once")
    second = enqueue(redis, MAINTENANCE, maintenance.purge_expired_drafts, job_id="purge-once")
    assert first.id == second.id
    assert get_queue(MAINTENANCE, redis).count == 1


def test_periodic_jobs_are_enqueued_once_however_many_workers_tick(redis):
    assert tick(redis) == [periodic.id for periodic in PERIODIC_JOBS]
    assert tick(redis) == []  # a second worker ticking in the same period
    queued = sum(get_queue(name, redis).count for name in ALL_QUEUES)
    assert queued == len(PERIODIC_JOBS)


def test_the_worker_command_runs_in_burst_mode(runner, redis, session):
    enqueue(redis, MAINTENANCE, maintenance.purge_expired_drafts, job_id="purge-cli")
    result = runner.invoke(args=["worker", "--burst", "--queues", MAINTENANCE])
    assert result.exit_code == 0, result.output
    assert get_queue(MAINTENANCE, redis).count == 0
    result = runner.invoke(args=["worker", "--burst", "--queues", "nope"])
    assert result.exit_code != 0
    assert "unknown queue" in result.output


def worker_key_ttl() -> int:
    """A job body: the seconds left before its worker's key expires (a dead worker's has none)."""
    current = get_current_job()
    assert current is not None
    key = f"{EtaWorker.redis_worker_namespace_prefix}{current.worker_name}"
    return int(current.connection.ttl(key))


def test_the_worker_skips_repeated_heartbeats_but_keeps_its_key_alive(redis, monkeypatch):
    sent: list[int | None] = []
    original = BaseWorker.heartbeat

    def counting(self, timeout=None, pipeline=None):
        sent.append(timeout)
        return original(self, timeout, pipeline)

    monkeypatch.setattr(BaseWorker, "heartbeat", counting)
    jobs = [
        enqueue(redis, MAINTENANCE, "tests.test_worker.worker_key_ttl", job_id=f"ttl-{n}")
        for n in range(5)
    ]
    worker = make_worker(redis, (MAINTENANCE,))
    assert isinstance(worker, EtaWorker)
    assert worker.work(burst=True, with_scheduler=False)
    # Plain RQ sends 5 per job: with the suspension check, around dequeueing (2), with the job's
    # bookkeeping, after the job. The two around dequeueing repeat the one just sent.
    assert len(sent) <= 3 * len(jobs) + 2
    for job in jobs:
        fetched = Job.fetch(job.id, connection=redis, serializer=JSONSerializer)
        assert fetched.get_status() == "finished"
        # Each job's bookkeeping extends the key to the job's timeout + 60 s at least.
        assert fetched.return_value() >= job.timeout
    assert worker.get_state() == "idle"


def test_a_suspended_worker_still_stops_before_taking_a_job(redis):
    from rq.suspension import resume, suspend

    enqueue(redis, MAINTENANCE, maintenance.purge_expired_drafts, job_id="purge-suspended")
    suspend(redis)
    try:
        assert not make_worker(redis, (MAINTENANCE,)).work(burst=True, with_scheduler=False)
        assert get_queue(MAINTENANCE, redis).count == 1
    finally:
        resume(redis)
    assert make_worker(redis, (MAINTENANCE,)).work(burst=True, with_scheduler=False)
    assert get_queue(MAINTENANCE, redis).count == 0


def test_the_eta_worker_command_builds_its_app_without_a_connection_ping(redis, monkeypatch):
    from click.testing import CliRunner

    import eta
    from eta.cli import main
    from eta.extensions import db

    built = []
    real_create_app = eta.create_app

    def spy(test_config=None):
        built.append(real_create_app(test_config))
        return built[-1]

    monkeypatch.setattr(eta, "create_app", spy)
    try:
        result = CliRunner().invoke(main, ["worker", "--burst", "--queues", MAINTENANCE])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(main, ["routes"])
        assert result.exit_code == 0, result.output
        worker_app, other_app = built
        assert worker_app.config["ETA_DATABASE_PRE_PING"] is False
        assert other_app.config["ETA_DATABASE_PRE_PING"] is True
        # SQLAlchemy keeps the option on the pool (no public accessor).
        for app, pings in ((worker_app, False), (other_app, True)):
            with app.app_context():
                assert db.engine.pool._pre_ping is pings
    finally:
        for app in built:
            with app.app_context():
                db.engine.dispose()


def job_seen_running() -> dict[str, object]:
    """A job body: what Redis says about this job while it runs."""
    current = get_current_job()
    assert current is not None
    queue = get_queue(current.origin, current.connection)
    fetched = Job.fetch(current.id, connection=current.connection, serializer=JSONSerializer)
    return {
        "status": fetched.get_status(),
        "worker": fetched.worker_name == current.worker_name,
        "started": current.id in queue.started_job_registry.get_job_ids(),
        "intermediate": current.connection.lrange(queue.intermediate_queue_key, 0, -1),
        "executions": len(fetched.get_executions()),
        "persistent": current.connection.ttl(fetched.key) == -1,
    }


def job_that_fails() -> None:
    """A job body that raises."""
    raise RuntimeError("failing on purpose")


def _bookkeeping(redis, worker, job_ids):
    """What RQ's bookkeeping left in Redis for these jobs, without ids or times."""
    queue = get_queue(MAINTENANCE, redis)
    seen = []
    for job_id in job_ids:
        job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
        fields = redis.hgetall(job.key)
        result = job.latest_result()
        seen.append(
            {
                "status": job.get_status(),
                "fields": sorted(name.decode() for name in fields),
                "expires": redis.ttl(job.key) > 0,
                "heartbeat after start": job.last_heartbeat >= job.started_at,
                "heartbeat at end": job.ended_at is None or job.last_heartbeat >= job.ended_at,
                "result": None if result is None else (result.type.name, result.return_value),
                "started": job_id in queue.started_job_registry.get_job_ids(),
                "finished": job_id in queue.finished_job_registry.get_job_ids(),
                "failed": job_id in queue.failed_job_registry.get_job_ids(),
                "queued": job_id in queue.get_job_ids(),
                "executions": len(job.get_executions()),
                "retries left": job.retries_left,
            }
        )
    worker.refresh()
    return seen, {
        "state": worker.get_state(),
        "succeeded": worker.successful_job_count,
        "failed": worker.failed_job_count,
        "key expires": redis.ttl(worker.key) > 0,
        "intermediate": redis.llen(queue.intermediate_queue_key),
    }


def test_the_eta_worker_leaves_what_rqs_simple_worker_leaves(redis):
    """EtaWorker batches RQ's writes around a job; Redis must end up as RQ leaves it."""
    from rq import Retry, SimpleWorker

    outcomes = []
    for kind in ("rq", "eta"):
        ids = [
            enqueue(redis, MAINTENANCE, "tests.test_worker.job_seen_running", job_id=f"{kind}-ok"),
            enqueue(redis, MAINTENANCE, job_that_fails, job_id=f"{kind}-fails", retry=Retry(max=1)),
        ]
        ids = [job.id for job in ids]
        if kind == "rq":
            queue = get_queue(MAINTENANCE, redis)
            worker = SimpleWorker([queue], connection=redis, serializer=JSONSerializer)
        else:
            worker = make_worker(redis, (MAINTENANCE,))
        assert worker.work(burst=True, with_scheduler=False)
        outcomes.append(_bookkeeping(redis, worker, ids))
    rq_outcome, eta_outcome = outcomes
    assert eta_outcome == rq_outcome
    jobs, worker_state = eta_outcome
    # And what that is: the job ran as started, was retried once, then failed.
    assert jobs[0]["result"] == (
        "SUCCESSFUL",
        {
            "status": "started",
            "worker": True,
            "started": True,
            "intermediate": [],
            "executions": 1,
            "persistent": True,
        },
    )
    assert (jobs[1]["status"], jobs[1]["failed"], jobs[1]["retries left"]) == ("failed", True, 0)
    assert worker_state["state"] == "idle" and worker_state["succeeded"] == 1


def test_a_queue_is_registered_again_a_minute_after_an_enqueue_registered_it(redis, monkeypatch):
    from rq import Queue

    from workers import enqueue as enqueueing

    def registered() -> bool:
        return redis.sismember(Queue.redis_queues_keys, get_queue(MAINTENANCE, redis).key)

    monkeypatch.setattr(enqueueing, "_registered", {})
    enqueue(redis, MAINTENANCE, maintenance.purge_expired_drafts, job_id="purge-1")
    assert registered()
    redis.srem(Queue.redis_queues_keys, get_queue(MAINTENANCE, redis).key)
    # Within the minute this process does not register the queue again, and still enqueues.
    enqueue(redis, MAINTENANCE, maintenance.purge_expired_drafts, job_id="purge-2")
    assert not registered()
    assert get_queue(MAINTENANCE, redis).job_ids == ["purge-1", "purge-2"]
    monkeypatch.setattr(enqueueing, "REGISTRATION_SECONDS", 0.0)
    enqueue(redis, MAINTENANCE, maintenance.purge_expired_drafts, job_id="purge-3")
    assert registered()
    assert get_queue(MAINTENANCE, redis).job_ids == ["purge-1", "purge-2", "purge-3"]
