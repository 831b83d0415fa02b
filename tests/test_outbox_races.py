"""Racing enqueues of one job id: none raises, and one job is left waiting."""

from __future__ import annotations

import threading

from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from eta.outbox import enqueue
from eta.tasks import NOTIFICATIONS, get_queue

RACERS = 8
ROUNDS = 25


def test_racing_enqueues_of_a_finished_job_never_raise(app, redis):
    """Issue 13, finding 13: issuance runs racing to queue `notify-approved-<id>`."""
    job_id = "notify-approved-1"
    errors: list[BaseException] = []
    for _round in range(ROUNDS):
        # The previous email job has run: every racer finds it done and replaces it.
        job = enqueue(
            redis, NOTIFICATIONS, "workers.notifications.notify_traveller", 1, job_id=job_id
        )
        job.set_status(JobStatus.FINISHED)
        get_queue(NOTIFICATIONS, redis).remove(job_id)
        start = threading.Barrier(RACERS)

        def race(start: threading.Barrier = start) -> None:
            start.wait()
            try:
                enqueue(
                    redis, NOTIFICATIONS, "workers.notifications.notify_traveller", 1, job_id=job_id
                )
            except Exception as failure:  # the test collects what any racer raised
                errors.append(failure)

        threads = [threading.Thread(target=race) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [type(error).__name__ for error in errors] == []
        # Waiting (a racer that replaced a job another had just queued may list it twice in
        # the queue: the job then runs twice, and jobs are idempotent).
        assert set(get_queue(NOTIFICATIONS, redis).get_job_ids()) == {job_id}
        status = Job.fetch(job_id, connection=redis, serializer=JSONSerializer).get_status()
        assert status == JobStatus.QUEUED
