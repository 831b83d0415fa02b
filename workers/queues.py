"""Queue names in one place, and the one way to get a queue (always the JSON serializer)."""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

SCREENING = "screening"
ISSUANCE = "issuance"
NOTIFICATIONS = "notifications"
MAINTENANCE = "maintenance"
AUDIT = "audit"

# Order matters: a worker listening on all of them takes the audit log's sequencer first (a
# short job every few seconds: checkpoint lag must not grow with a screening backlog), then
# screening work, so travellers waiting for an answer are served before housekeeping.
ALL_QUEUES = (AUDIT, SCREENING, ISSUANCE, NOTIFICATIONS, MAINTENANCE)


def get_queue(name: str, connection: Redis) -> Queue:
    """Return the named queue, with JSON serialization (pickle would let Redis run code)."""
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection, serializer=JSONSerializer)
