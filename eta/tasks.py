"""Queue names and job names in one place, and the one way to get a queue (JSON serializer).

The only module in eta/ that names a job body in workers/: everything else refers to a Task.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

RECOVERY = "recovery"
AUDIT = "audit"
SCREENING = "screening"
ISSUANCE = "issuance"
NOTIFICATIONS = "notifications"
MAINTENANCE = "maintenance"

# Order matters: a worker listening on all of them takes recovery first (the outbox relay: a
# backlog of emails must never delay re-sending what Redis lost), then the audit log's
# sequencer (checkpoints on time), then screening, so travellers
# waiting for an answer are served before housekeeping.
ALL_QUEUES = (RECOVERY, AUDIT, SCREENING, ISSUANCE, NOTIFICATIONS, MAINTENANCE)


@dataclass(frozen=True, slots=True)
class Task:
    """A kind of job: its name in the outbox, its queue and the dotted path of its body."""

    name: str
    queue: str
    func: str
    timeout: int = 180


SCREEN = Task("screen", SCREENING, "workers.screening.screen_application")
ISSUE = Task("issue", ISSUANCE, "workers.issuance.issue_authorisation")
NOTIFY = Task("notify", NOTIFICATIONS, "workers.notifications.notify_traveller")
RESCREEN = Task("rescreen", SCREENING, "workers.screening.rescreen_authorisation")
RELAY = Task("relay", RECOVERY, "workers.maintenance.relay_outbox")

TASKS = {task.name: task for task in (SCREEN, ISSUE, NOTIFY, RESCREEN, RELAY)}


def get_queue(name: str, connection: Redis) -> Queue:
    """Return the named queue, with JSON serialization (pickle would let Redis run code)."""
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection, serializer=JSONSerializer)
