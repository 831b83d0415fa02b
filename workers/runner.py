"""Run an RQ worker for eta: JSON serializer, the scheduler, and the periodic ticker."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from redis import Redis
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


def make_worker(connection: Redis, queues: Sequence[str] = ALL_QUEUES) -> SimpleWorker:
    """Build a worker on `queues`.

    SimpleWorker runs jobs in this process instead of forking one per job: screening keeps its
    watchlist index in memory between jobs, and a fork per job would cost more than the job.
    """
    return SimpleWorker(
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
