"""Put work on the queues: ids only, JSON-serialised, de-duplicated by job id."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from workers.queues import get_queue

# Transient failures (a database restart, a network blip) are retried with backoff before a
# job is given up; interval retries need a worker running with the scheduler (eta worker does).
DEFAULT_RETRY = Retry(max=3, interval=[10, 60, 300])

_DONE = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}

# RQ adds a queue to its set of known queues (`rq:queues`, which `rq info` lists) at every
# enqueue, in a Redis transaction of its own. A process that did so for a queue less than this
# many seconds ago skips it: one round trip less per enqueue (the screening job enqueues
# issuance), and a queue whose entry someone removed is listed again within a minute.
REGISTRATION_SECONDS = 60.0
# (Redis connection pool, queue name) -> when this process last registered that queue.
_registered: dict[tuple[int, str], float] = {}


def enqueue(
    connection: Redis,
    queue_name: str,
    func: Callable[..., Any] | str,
    *args: int | str | None,
    job_id: str | None = None,
    retry: Retry | None = DEFAULT_RETRY,
    timeout: int = 180,
) -> Job:
    """Enqueue `func(*args)` on `queue_name`; `func` may be a dotted path ("workers.x.job").

    With a `job_id`, a job of that id that is still waiting or running is returned instead of
    enqueueing a second one; a finished or failed one is replaced, so a sweeper can always
    re-enqueue work that the database says is not done.
    """
    queue = get_queue(queue_name, connection)
    # RQ takes a callable or its dotted path; its type variable only admits one at a time.
    target: Any = func
    options: dict[str, Any] = {
        "job_id": job_id,
        "unique": job_id is not None,
        "retry": retry,
        "job_timeout": timeout,
        # Not 0 for jobs whose result nobody reads (screening): RQ then deletes the job on
        # success, which reads its executions back from Redis and costs more round trips
        # than saving a result that expires.
        "result_ttl": 600,
        "failure_ttl": 7 * 24 * 3600,
    }
    registration = (id(connection.connection_pool), queue_name)
    clock = time.monotonic()
    registered_at = _registered.get(registration, float("-inf"))
    if job_id is not None and clock - registered_at < REGISTRATION_SECONDS:
        # With a job id (unique), RQ saves and pushes the job with one atomic script of its own
        # and puts only the queue's registration on a pipeline given to it: this one is never
        # sent, which skips that registration.
        options["pipeline"] = connection.pipeline()
    try:
        job = queue.enqueue(target, *args, **options)
        if "pipeline" not in options:
            _registered[registration] = clock
        return job
    except DuplicateJobError:
        assert job_id is not None  # noqa: S101  (unique is only set with a job id)
        try:
            existing = Job.fetch(job_id, connection=connection, serializer=queue.serializer)
        except NoSuchJobError:
            return queue.enqueue(target, *args, **options)
        if existing.get_status(refresh=True) not in _DONE:
            return existing
        existing.delete()
        return queue.enqueue(target, *args, **options)
