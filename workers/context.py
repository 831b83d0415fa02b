"""Run job functions inside a Flask app context, creating the app once per worker process."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from flask import Flask, current_app, has_app_context
from rq import get_current_job

P = ParamSpec("P")
R = TypeVar("R")

_app: Flask | None = None


def _worker_app() -> Flask:
    global _app
    if _app is None:
        from eta import create_app

        # Like `eta worker` (see eta.cli): no connection ping before each job.
        _app = create_app({"ETA_DATABASE_PRE_PING": False})
    return _app


def _start() -> None:
    """Tell the session which outbox row the job runs for (see eta.outbox.finish_current)."""
    from eta import outbox
    from eta.extensions import db

    current = get_current_job()
    db.session.info.pop(outbox.FINISHED, None)
    if current is not None:
        db.session.info[outbox.CURRENT_JOB] = current.id


def _done(result: R) -> R:
    """Mark the outbox row of the job that just ran done: the relay never sends it again.

    Skipped when the job's own commit already marked it (outbox.finish_current), which saves
    an UPDATE and a COMMIT per job on the hot paths (screening, issuance).
    """
    from eta import outbox
    from eta.extensions import db

    current = get_current_job()
    info = db.session.info
    finished = info.pop(outbox.FINISHED, None)
    info.pop(outbox.CURRENT_JOB, None)
    if current is not None and finished != current.id:
        outbox.mark_done(db.session, current.id)
        db.session.commit()
    return result


@contextmanager
def _observed(task: str) -> Iterator[None]:
    """Run a job body under its request's id (from the job's meta), timing and counting it.

    The id is the one of the request whose outbox row queued the job (eta.outbox.job_meta);
    a job no request caused (a periodic one) gets a new id, which the work it queues inherits.
    """
    from eta.web import logs, metrics

    current = get_current_job()
    meta = current.meta if current is not None else {}
    request_id = logs.accepted_request_id(meta.get("request_id")) or logs.new_request_id()
    started = time.perf_counter()
    outcome = "failed"
    with logs.bound_request_id(request_id):
        try:
            yield
            outcome = "ok"
        finally:
            metrics.JOBS.labels(task, outcome).inc()
            metrics.JOB_DURATION.labels(task).observe(time.perf_counter() - started)


def job(func: Callable[P, R]) -> Callable[P, R]:
    """Make `func` an RQ job body: run it in an app context and release the DB session after.

    Inside `eta worker` (a Flask CLI command) the context already exists and is reused; anywhere
    else (rq's own CLI, a test calling the function) an app is built once for the process.
    Every run is counted and timed (eta_jobs_total, eta_job_duration_seconds) and logs under
    the request id its job carries.
    """
    task = func.__name__

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from eta.extensions import db

        if has_app_context():
            with _observed(task):
                try:
                    _start()
                    return _done(func(*args, **kwargs))
                finally:
                    db.session.remove()
        with _worker_app().app_context(), _observed(task):
            try:
                _start()
                return _done(func(*args, **kwargs))
            finally:
                db.session.remove()

    return run


def app() -> Flask:
    """The app of the current job (for config look-ups inside job bodies)."""
    return current_app._get_current_object()  # type: ignore[attr-defined]
