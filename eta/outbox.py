"""Side effects as rows written in the caller's transaction, and the relay that queues them.

A verb that causes work (screen this application, email that traveller) calls :func:`add` before
it commits: the row commits with the change or not at all. Right after the commit the rows of
that transaction are pushed to RQ (:func:`push_committed`); whatever could not be pushed (Redis
down), and whatever Redis lost (a restart, FLUSHDB) is pushed again by the periodic relay
(:func:`relay`). The row's key is the RQ job id, so a job still waiting is never queued twice,
and the job marks its row done when it has run (:func:`mark_done`): at-least-once delivery of
idempotent jobs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from eta.models import OutboxMessage
from eta.models.base import SessionLike
from eta.tasks import TASKS, Task, get_queue
from eta.timeutil import utcnow

log = logging.getLogger(__name__)

_PENDING = "eta.outbox.pending"  # Session.info key: rows this transaction wrote
# A row pushed this long ago whose job has not marked it done is pushed again: its job was
# lost (Redis restarted without its data) or is stuck. Longer than any job's run and retries.
RESEND_AFTER = dt.timedelta(minutes=10)
# Backoff after a failed push: attempt n waits BACKOFF[n] seconds (then the last, for ever).
BACKOFF = (5, 15, 60, 300)
RELAY_BATCH = 500

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


@dataclass(frozen=True, slots=True)
class _Pending:
    """A row this transaction wrote, as the push after its commit needs it."""

    key: str
    task: str
    args: list[Any]


def add(session: SessionLike, task: Task, *args: int | str | None, key: str) -> None:
    """Record that `task(*args)` must run once this transaction commits (no commit here).

    `key` names the work uniquely (say `notify-refused-42`): the same key twice is one job.
    """
    # Written as sent: the transaction's own `commit` pushes it right after the commit, and
    # marks it unsent again only if that push fails. Marking it after every push would cost
    # each change a second transaction; a process that dies between its commit and its push
    # leaves a row that looks sent, which the relay re-sends RESEND_AFTER later.
    session.add(OutboxMessage(key=key, task=task.name, args=list(args), sent_at=utcnow()))
    # Kept on the session too, so pushing after the commit reads nothing back.
    session.info.setdefault(_PENDING, []).append(_Pending(key, task.name, list(args)))


def _push(connection: Redis, row: OutboxMessage | Any) -> None:
    task = TASKS[row.task]
    enqueue(connection, task.queue, task.func, *row.args, job_id=row.key, timeout=task.timeout)


def commit(session: SessionLike, connection: Redis | None = None) -> int:
    """Commit the caller's transaction, then push the rows it wrote to RQ (written as sent).

    Pushing is best effort and never fails the caller, whose change is committed: a row that
    cannot be pushed (Redis down) is marked unsent, and the relay sends it on its next run; if
    that mark cannot be written either (the database gone too) or the process dies before its
    push, the relay re-sends the row RESEND_AFTER later. Returns how many rows were pushed.
    """
    pending = session.info.pop(_PENDING, None)
    session.commit()
    if not pending:
        return 0
    if connection is None:
        from eta.extensions import redis_client

        connection = redis_client.client
    try:
        return _push_rows(session, connection, pending)
    except SQLAlchemyError as error:
        session.rollback()
        log.warning("outbox: rows left for the relay (%s)", type(error).__name__)
        return 0


def _push_rows(session: SessionLike, connection: Redis, rows: list[_Pending]) -> int:
    unsent = []
    for index, row in enumerate(rows):
        try:
            _push(connection, row)
        except (RedisError, OSError) as error:
            unsent = [left.key for left in rows[index:]]
            log.warning("outbox: %d job(s) left for the relay (%s)", len(unsent), error)
            break
    if unsent:
        # Due for the relay's next run (rows are written as sent, see `add`).
        session.execute(
            update(OutboxMessage).where(OutboxMessage.key.in_(unsent)).values(sent_at=None)
        )
        session.commit()
    return len(rows) - len(unsent)


def relay(session: SessionLike, connection: Redis, *, now: dt.datetime | None = None) -> int:
    """Push every due row: never sent, or sent long ago and not done. Returns how many.

    One relay at a time takes a row (SKIP LOCKED on PostgreSQL), so two relays never push the
    same row at once; a relay killed mid-batch leaves its rows due, and pushing one again is
    harmless (same job id, and the job skips work already done).
    """
    now = now or utcnow()
    due = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.done_at.is_(None),
            OutboxMessage.due_at <= now,
            or_(OutboxMessage.sent_at.is_(None), OutboxMessage.sent_at <= now - RESEND_AFTER),
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(RELAY_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    pushed = 0
    for row in due:
        try:
            _push(connection, row)
        except (RedisError, OSError) as error:
            row.attempts += 1
            row.due_at = now + dt.timedelta(seconds=BACKOFF[min(row.attempts, len(BACKOFF)) - 1])
            row.last_error = type(error).__name__
            continue
        row.sent_at = now
        pushed += 1
    session.commit()
    return pushed


def mark_done(session: SessionLike, key: str) -> None:
    """The job of row `key` has run: the relay never pushes it again (caller commits)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.key == key, OutboxMessage.done_at.is_(None))
        .values(done_at=utcnow())
    )


def is_done(session: SessionLike, key: str) -> bool:
    """Whether the job of row `key` has already run (a re-sent job then does nothing)."""
    return session.scalar(select(OutboxMessage.done_at).where(OutboxMessage.key == key)) is not None


def status(session: SessionLike, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What an operator watches: rows waiting, failing, and the age of the oldest not done."""
    now = now or utcnow()
    pending = OutboxMessage.done_at.is_(None)
    oldest = session.scalar(select(func.min(OutboxMessage.created_at)).where(pending))
    unsent = session.scalar(select(func.count()).where(pending, OutboxMessage.sent_at.is_(None)))
    failing = session.scalar(select(func.count()).where(pending, OutboxMessage.attempts > 0))
    waiting = session.scalar(select(func.count()).where(pending))
    return {
        "not_done": int(waiting or 0),
        "not_sent": int(unsent or 0),
        "failing": int(failing or 0),
        "oldest_seconds": 0 if oldest is None else int((now - oldest).total_seconds()),
    }
