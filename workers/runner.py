"""Run an RQ worker for eta: JSON serializer, the scheduler, and the periodic ticker."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app, has_app_context
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import now
from rq.worker.base import BaseWorker, WorkerStatus

from eta.tasks import ALL_QUEUES, get_queue
from workers.periodic import tick, tick_seconds

log = logging.getLogger(__name__)

TICK_SECONDS = 15
# Seconds between attempts to reach Redis again after a worker lost it mid-job (then the last).
RECONNECT_BACKOFF = (1, 2, 5, 10, 30)


def _ticker(connection: Redis, stop: threading.Event, config: Mapping[str, Any] | None) -> None:
    while not stop.wait(tick_seconds(TICK_SECONDS, config)):
        try:
            tick(connection, config=config)
        except Exception:  # the ticker must outlive a Redis blip; the next tick retries
            log.exception("periodic tick failed")


class EtaWorker(SimpleWorker):
    """A SimpleWorker that does not repeat, between two jobs, Redis writes that change nothing,
    and sends the ones it needs in fewer round trips.

    RQ's work loop sends the worker's heartbeat three times around each job (after the job,
    before and after dequeueing the next), each as three separate commands, marks the worker
    idle twice and asks Redis whether workers are suspended. Here a heartbeat that would set no
    longer an expiry than one sent moments ago is skipped, the ones sent go as one pipeline, a
    state already written is not written again, and suspension is checked once a second.

    Around each job, RQ's writes are all sent, in RQ's order, but batched: the execution record
    and the job's start go as one transaction (RQ: two, back to back), the job's last heartbeat
    goes with its result when no success callback runs in between (RQ: a command of its own
    just before), and the worker's return to idle and its next heartbeat go with the job's
    outcome too (RQ: two more round trips). Jobs' registries, retries, results and dependents
    are RQ's, untouched.
    """

    # A heartbeat is skipped only while the worker's key still expires within this many seconds
    # of what the new heartbeat would set (the key lives worker_ttl + 60 s, 480 s by default).
    HEARTBEAT_SLACK_SECONDS = 10

    # `rq suspend` is looked for at most this often, not before every job.
    SUSPENSION_CHECK_SECONDS = 1.0

    _expires_at = float("-inf")  # monotonic time at which the worker's key expires, at the latest
    _next_suspension_check = float("-inf")

    def check_for_suspension(self, burst: bool) -> None:
        """Honour `rq suspend`, checking Redis at most once a second rather than for every job."""
        clock = time.monotonic()
        if clock < self._next_suspension_check:
            return
        self._next_suspension_check = clock + self.SUSPENSION_CHECK_SECONDS
        super().check_for_suspension(burst)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """Extend the worker's key, unless a heartbeat moments ago already did as much."""
        timeout = timeout or self.worker_ttl + 60
        clock = time.monotonic()
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            # Sent later with the caller's pipeline: count its expiry only if it comes sooner.
            self._expires_at = min(self._expires_at, clock + timeout)
            return
        if self._expires_at - clock >= timeout - self.HEARTBEAT_SLACK_SECONDS:
            return
        with self.connection.pipeline(transaction=False) as batch:
            super().heartbeat(timeout, pipeline=batch)
            batch.execute()
        self._expires_at = clock + timeout

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        """Write the worker's state, unless it is the state this worker last wrote."""
        if pipeline is None and state == self._state:
            return
        super().set_state(state, pipeline)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run the job in this process; the worker is idle again once its outcome is saved."""
        execution = self.prepare_execution(job)
        if self.perform_job(job, queue, execution):
            # The job's success transaction marked the worker idle and sent its heartbeat (see
            # cleanup_execution); the work loop's heartbeat right after is then skipped.
            self._expires_at = time.monotonic() + self.worker_ttl + 60
            return
        # A failure's transaction did too, unless it could not be written: say it again.
        self._idle_with_heartbeat(None)

    def cleanup_execution(
        self, job: Job, pipeline: Pipeline, execution: Execution | None = None
    ) -> None:
        """Clear the execution as RQ does, and mark the worker idle in the same transaction.

        RQ calls this in the transaction that saves a job's outcome (success, failure, retry);
        RQ's SimpleWorker marks itself idle, and sends a heartbeat, just after it.
        """
        super().cleanup_execution(job, pipeline, execution)
        self._idle_with_heartbeat(pipeline)

    def _idle_with_heartbeat(self, pipeline: Pipeline | None) -> None:
        timeout = self.worker_ttl + 60
        if pipeline is not None:
            self.set_state(WorkerStatus.IDLE, pipeline=pipeline)
            BaseWorker.heartbeat(self, timeout, pipeline=pipeline)
            return
        with self.connection.pipeline(transaction=False) as batch:
            self.set_state(WorkerStatus.IDLE, pipeline=batch)
            BaseWorker.heartbeat(self, timeout, pipeline=batch)
            batch.execute()
        self._expires_at = time.monotonic() + timeout

    def prepare_execution(self, job: Job) -> Execution:
        """Record the execution and start the job in one transaction (RQ sends two).

        What RQ's `prepare_execution` and `prepare_job_execution` write, in that order: the
        execution and its registries, the worker busy, the heartbeats, the job started (status,
        worker, time), its key made persistent and, with one queue, taken off the intermediate
        queue. `prepare_job_execution`, which `perform_job` calls next, then has nothing to send.
        """
        heartbeat_ttl = self.get_heartbeat_ttl(job)
        with self.connection.pipeline() as pipeline:
            execution = Execution.create(
                job, heartbeat_ttl, pipeline=pipeline, worker_name=self.name
            )
            self.executions[execution.id] = execution
            self.set_state(WorkerStatus.BUSY, pipeline=pipeline)
            self.heartbeat(heartbeat_ttl, pipeline=pipeline)
            job.heartbeat(now(), heartbeat_ttl, pipeline=pipeline)
            job.prepare_for_execution(self.name, pipeline=pipeline)
            pipeline.persist(job.key)
            if len(self.queues) == 1:  # as perform_job decides it
                queue = Queue(job.origin, connection=self.connection)
                pipeline.lrem(queue.intermediate_queue_key, 1, job.id)
            pipeline.execute()
        return execution

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """Nothing left to send: `prepare_execution` wrote the job's start with its execution."""
        self.procline(f"Processing {job.func_name} from {job.origin} since {time.time()}")

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """Note the job's end; its last heartbeat goes with its result unless a callback runs.

        RQ writes the heartbeat at once so that a success or failure callback, which may take
        a while, runs with a fresh one. A job that finished without a success callback has its
        result saved next, in one transaction that writes the whole job, heartbeat included.
        """
        if job.get_status(refresh=False) != JobStatus.STARTED or job.success_callback is not None:
            super().handle_execution_ended(job, queue, heartbeat_ttl)
            return
        job.ended_at = now()
        job.last_heartbeat = job.ended_at

    def handle_job_retry(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        """A job that returned a Retry is not saved whole: write its last heartbeat first."""
        if job.last_heartbeat is not None:
            job.heartbeat(job.last_heartbeat, 0)
        super().handle_job_retry(job, queue, *args, **kwargs)


def make_worker(connection: Redis, queues: Sequence[str] = ALL_QUEUES) -> SimpleWorker:
    """Build a worker on `queues`.

    SimpleWorker runs jobs in this process instead of forking one per job: screening keeps its
    watchlist index in memory between jobs, and a fork per job would cost more than the job.
    """
    return EtaWorker(
        [get_queue(name, connection) for name in queues],
        connection=connection,
        serializer=JSONSerializer,
    )


def _wait_for_redis(connection: Redis) -> bool:
    """Ping Redis with backoff until it answers (True) or the process is asked to stop (False).

    RQ's signal handlers belong to the worker that quit; SIGTERM and SIGINT stop the wait.
    """
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
    attempt = 0
    while not stop.is_set():
        try:
            connection.ping()
            return True
        except (RedisConnectionError, RedisTimeoutError, OSError):
            pause = RECONNECT_BACKOFF[min(attempt, len(RECONNECT_BACKOFF) - 1)]
            attempt += 1
            log.warning("worker: Redis unreachable, trying again in %s s", pause)
            stop.wait(pause)
    return False


def run_worker(
    connection: Redis, queues: Sequence[str] = ALL_QUEUES, *, burst: bool = False
) -> bool:
    """Work the queues until stopped (or, with `burst`, until they are empty).

    RQ reconnects a worker that loses Redis while it waits for a job, but one that loses it
    while busy (saving the job's outcome) quits. Here a worker that quit that way, without
    being asked to stop, waits for Redis with backoff and starts again: the job it was running
    is in the database (idempotent jobs; the outbox and the sweeper send again what is lost).
    """
    stop = threading.Event()
    if not burst:
        # The ticker thread has no app context: it reads the periods from this copy.
        config = dict(current_app.config) if has_app_context() else None
        try:
            tick(connection, config=config)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            # Redis unreachable at start (down, or Sentinel failing over and naming no master
            # yet): the ticker ticks again, and the worker below waits for Redis.
            log.warning("worker: Redis unreachable at start; the ticker tries again")
        threading.Thread(target=_ticker, args=(connection, stop, config), daemon=True).start()
    worked = False
    try:
        while True:
            worker = make_worker(connection, queues)
            try:
                worked = bool(worker.work(burst=burst, with_scheduler=True)) or worked
            except (RedisConnectionError, RedisTimeoutError, OSError):
                # RQ's teardown could not reach Redis either.
                log.warning("worker: lost Redis", exc_info=True)
            # Asked to stop (SIGTERM, SIGINT): RQ notes when, even for an idle worker, which it
            # stops with StopRequested without setting _stop_requested.
            if burst or worker._stop_requested or worker._shutdown_requested_date is not None:
                return worked
            log.warning("worker: quit without being asked to (Redis lost?); starting again")
            if not _wait_for_redis(connection):
                return worked
    finally:
        stop.set()
