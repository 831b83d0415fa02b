"""Run an RQ worker for eta: JSON serializer, the scheduler, and the periodic ticker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from redis import Redis
from redis.client import Pipeline
from rq import SimpleWorker
from rq.serializers import JSONSerializer

from workers.periodic import tick
from workers.queues import ALL_QUEUES, get_queue

log = logging.getLogger(__name__)

TICK_SECONDS = 15


def _ticker(connection: Redis, stop: threading.Event) -> None:
    while not stop.wait(TICK_SECONDS):
        try:
            tick(connection)
        except Exception:  # the ticker must outlive a Redis blip; the next tick retries
            log.exception("periodic tick failed")


class EtaWorker(SimpleWorker):
    """A SimpleWorker that does not repeat, between two jobs, Redis writes that change nothing.

    RQ's work loop sends the worker's heartbeat three times around each job (after the job,
    before and after dequeueing the next), each as three separate commands, marks the worker
    idle twice and asks Redis whether workers are suspended. Here a heartbeat that would set no
    longer an expiry than one sent moments ago is skipped, the ones sent go as one pipeline, a
    state already written is not written again, and suspension is checked once a second. Jobs,
    their registries and their own heartbeats are RQ's, untouched.
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


def run_worker(
    connection: Redis, queues: Sequence[str] = ALL_QUEUES, *, burst: bool = False
) -> bool:
    """Work the queues until stopped (or, with `burst`, until they are empty)."""
    worker = make_worker(connection, queues)
    stop = threading.Event()
    if not burst:
        tick(connection)
        threading.Thread(target=_ticker, args=(connection, stop), daemon=True).start()
    try:
        return bool(worker.work(burst=burst, with_scheduler=True))
    finally:
        stop.set()
