"""Side effects as rows written in the caller's transaction, and the relay that queues them.

A verb that causes work (screen this application, email that traveller) calls :func:`add` before
it commits: the row commits with the change or not at all. Right after the commit the rows of
that transaction are pushed to RQ (:func:`push_committed`); whatever could not be pushed (Redis
down), and whatever Redis lost (a restart, FLUSHDB) is pushed again by the periodic relay
(:func:`relay`). The row's key is the RQ job id, so a job still waiting is never queued twice,
and the job marks its row done when it has run (:func:`mark_done`): at-least-once delivery of
idempotent jobs. A row keeps the id of the request (or job) that wrote it, and its job carries
that id in its meta, so the job's log lines name the request that caused it (eta.web.logs).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from eta.models import OutboxMessage
from eta.models.base import SessionLike
from eta.tasks import TASKS, Task, get_queue
from eta.timeutil import utcnow
from eta.web.logs import current_request_id

log = logging.getLogger(__name__)

_PENDING = "eta.outbox.pending"  # Session.info key: rows this transaction wrote
# Session.info keys for the job running in this session (its row's key, set by the worker):
# the row to mark done with the job's own commit, and the row that commit marked.
CURRENT_JOB = "eta.outbox.current_job"
_FINISH = "eta.outbox.finish"
FINISHED = "eta.outbox.finished"
# A row pushed this long ago whose job has not marked it done is pushed again: its job was
# lost (Redis restarted without its data) or is stuck. Longer than any job's run and retries.
RESEND_AFTER = dt.timedelta(minutes=10)
# Backoff after a failed push: attempt n waits BACKOFF[n] seconds (then the last, for ever).
BACKOFF = (5, 15, 60, 300)
RELAY_BATCH = 500
# How often enqueue looks again when racing enqueuers keep replacing a job of the same id.
DUPLICATE_ATTEMPTS = 5

# Transient failures (a database restart, a network blip) are retried with backoff before a
# job is given up; interval retries need a worker running with the scheduler (eta worker does).
DEFAULT_RETRY = Retry(max=3, interval=[10, 60, 300])

# Not 0 for jobs whose result nobody reads (screening): RQ then deletes the job on success,
# which reads its executions back from Redis and costs more round trips than saving a result
# that expires. A failed job is kept a week for an operator to look at.
RESULT_TTL = 600
FAILURE_TTL = 7 * 24 * 3600

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
    meta: dict[str, Any] | None = None,
) -> Job:
    """Enqueue `func(*args)` on `queue_name`; `func` may be a dotted path ("workers.x.job").

    With a `job_id`, a job of that id that is still waiting or running is returned instead of
    enqueueing a second one; a finished or failed one is replaced, so a sweeper can always
    re-enqueue work that the database says is not done. `meta` goes with the job (the
    request id, see :func:`job_meta`).
    """
    queue = get_queue(queue_name, connection)
    # RQ takes a callable or its dotted path; its type variable only admits one at a time.
    target: Any = func
    options: dict[str, Any] = {
        "job_id": job_id,
        "unique": job_id is not None,
        "retry": retry,
        "job_timeout": timeout,
        "result_ttl": RESULT_TTL,
        "failure_ttl": FAILURE_TTL,
    }
    if meta:
        options["meta"] = meta
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
    # A job of that id exists. Racing enqueuers (two issuance runs queueing one email) may
    # each find it done, delete it and enqueue again: whoever loses that race finds the
    # winner's job waiting, which is the job it wanted. Bounded, so a pathological race ends.
    for _attempt in range(DUPLICATE_ATTEMPTS):
        try:
            existing = Job.fetch(job_id, connection=connection, serializer=queue.serializer)
            if existing.get_status(refresh=True) not in _DONE:
                return existing  # already queued or running: not an error
            existing.delete()
        except (NoSuchJobError, InvalidJobOperation):
            pass  # gone, or deleted meanwhile by another enqueuer: enqueue it
        try:
            return queue.enqueue(target, *args, **options)
        except DuplicateJobError:
            continue  # another enqueuer got there in between: look again
    # Still racing after every attempt: the job exists, queued by someone else.
    return Job.fetch(job_id, connection=connection, serializer=queue.serializer)


@dataclass(frozen=True, slots=True)
class _Pending:
    """A row this transaction wrote, as the push after its commit needs it."""

    key: str
    task: str
    args: list[Any]
    request_id: str | None


_TABLE: Any = OutboxMessage.__table__
# Built once: compiling a statement costs more than running it on the hot paths (a screening
# decision writes one row, the job then marks its own row done).
_INSERT = insert(_TABLE)
_MARK_UNSENT = (
    update(_TABLE).where(_TABLE.c.key.in_(bindparam("keys", expanding=True))).values(sent_at=None)
)
_MARK_DONE = (
    update(_TABLE)
    .where(_TABLE.c.key == bindparam("done_key"), _TABLE.c.done_at.is_(None))
    .values(done_at=bindparam("done_at"))
)


class Work(NamedTuple):
    """One side effect for :func:`add_all`: run `task(*args)`, once, under the unique `key`."""

    task: Task
    args: tuple[int | str | None, ...]
    key: str


def add(session: SessionLike, task: Task, *args: int | str | None, key: str) -> None:
    """Record that `task(*args)` must run once this transaction commits (no commit here).

    `key` names the work uniquely (say `notify-refused-42`): the same key twice is one job.
    See :func:`add_all`, which this is for one row.
    """
    add_all(session, [Work(task, args, key)])


def add_all(session: SessionLike, work: list[Work]) -> None:
    """Record every side effect of `work` in this transaction, with one INSERT (no commit).

    The rows are written as sent (the push right after the commit is the usual case, and
    marking them afterwards would cost an UPDATE and a COMMIT); a push that fails clears
    `sent_at` for the relay, and a process that dies between commit and push leaves rows the
    relay sends again after RESEND_AFTER, as it does for a job Redis lost.
    """
    if not work:
        return
    now = utcnow()
    request_id = current_request_id()
    session.connection().execute(
        _INSERT,
        [
            {
                "key": item.key,
                "task": item.task.name,
                "args": list(item.args),
                "created_at": now,
                "due_at": now,
                "attempts": 0,
                "sent_at": now,
                "request_id": request_id,
            }
            for item in work
        ],
    )
    # Kept on the session too, so pushing after the commit reads nothing back.
    session.info.setdefault(_PENDING, []).extend(
        _Pending(item.key, item.task.name, list(item.args), request_id) for item in work
    )


def job_meta(request_id: str | None) -> dict[str, Any] | None:
    """The meta of a job run for request `request_id` (None: no request)."""
    return {"request_id": request_id} if request_id else None


def _push(connection: Redis, row: OutboxMessage | Any) -> None:
    task = TASKS[row.task]
    enqueue(
        connection,
        task.queue,
        task.func,
        *row.args,
        job_id=row.key,
        timeout=task.timeout,
        meta=job_meta(row.request_id),
    )


def commit(session: SessionLike, connection: Redis | None = None) -> int:
    """Commit the caller's transaction, then push the rows it wrote to RQ (written as sent).

    Pushing is best effort and never fails the caller, whose change is committed: a row that
    cannot be pushed (Redis down) is marked unsent, and the relay sends it on its next run; if
    that mark cannot be written either (the database gone too) or the process dies before its
    push, the relay re-sends the row RESEND_AFTER later. Returns how many rows were pushed.
    """
    pending = session.info.pop(_PENDING, None)
    finish = session.info.pop(_FINISH, None)
    if finish is not None:
        mark_done(session, finish)
    session.commit()
    if finish is not None:
        session.info[FINISHED] = finish
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
    try:
        _push_fresh(connection, rows)
    except (RedisError, OSError) as error:
        log.warning("outbox: %d job(s) left for the relay (%s)", len(rows), error)
        # Written as sent (see add_all): none was pushed, so all are due for the relay at once.
        session.connection().execute(_MARK_UNSENT, {"keys": [row.key for row in rows]})
        session.commit()
        return 0
    return len(rows)


def _push_fresh(connection: Redis, rows: list[_Pending]) -> None:
    """Queue the jobs of rows the caller's transaction has just committed, all or none.

    Their keys are new (the outbox's unique key has just accepted them) and no relay pushes a
    row written as sent until RESEND_AFTER, so no job of those ids can exist: they are queued
    without RQ's unique check, every queue's jobs and registration in one MULTI/EXEC.
    """
    by_queue: dict[str, list[Any]] = {}
    for row in rows:
        task = TASKS[row.task]
        by_queue.setdefault(task.queue, []).append(
            Queue.prepare_data(
                task.func,
                args=row.args,
                job_id=row.key,
                timeout=task.timeout,
                result_ttl=RESULT_TTL,
                failure_ttl=FAILURE_TTL,
                retry=DEFAULT_RETRY,
                meta=job_meta(row.request_id),
            )
        )
    with connection.pipeline() as pipeline:
        for name, jobs in by_queue.items():
            get_queue(name, connection).enqueue_many(jobs, pipeline=pipeline)
        pipeline.execute()


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
    session.connection().execute(_MARK_DONE, {"done_key": key, "done_at": utcnow()})


def finish_current(session: SessionLike) -> None:
    """Mark the running job's own row done in the transaction the next :func:`commit` commits.

    A job that commits its outcome anyway (a decision, an issuance) saves the worker a second
    UPDATE and COMMIT: the row is done if and only if the outcome is committed, so a job killed
    before that commit is still re-sent (at-least-once). Outside a job this does nothing.
    """
    key = session.info.get(CURRENT_JOB)
    if key is not None:
        session.info[_FINISH] = key


def exists(session: SessionLike, key: str) -> bool:
    """Whether a row of key `key` was ever written (keys are unique)."""
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None


def is_done(session: SessionLike, key: str) -> bool:
    """Whether the job of row `key` has already run (a re-sent job then does nothing)."""
    return session.scalar(select(OutboxMessage.done_at).where(OutboxMessage.key == key)) is not None


def status(session: SessionLike, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What an operator watches: rows waiting, failing, and the age of the oldest not done."""
    now = now or utcnow()
    # One statement: the three counts and the oldest row, over the rows not done.
    oldest, waiting, unsent, failing = session.execute(
        select(
            func.min(OutboxMessage.created_at),
            func.count(OutboxMessage.id),
            func.count(OutboxMessage.id).filter(OutboxMessage.sent_at.is_(None)),
            func.count(OutboxMessage.id).filter(OutboxMessage.attempts > 0),
        ).where(OutboxMessage.done_at.is_(None))
    ).one()
    return {
        "not_done": int(waiting or 0),
        "not_sent": int(unsent or 0),
        "failing": int(failing or 0),
        "oldest_seconds": 0 if oldest is None else int((now - oldest).total_seconds()),
    }
