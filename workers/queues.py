"""Queue names in one place, and the one way to get a queue (always the JSON serializer)."""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

SCREENING = "screening"
ISSUANCE = "issuance"
NOTIFICATIONS = "notifications"
MAINTENANCE = "maintenance"

# Order matters: a worker listening on all of them takes screening work first, so travellers
# waiting for an answer are served before housekeeping.
ALL_QUEUES = (SCREENING, ISSUANCE, NOTIFICATIONS, MAINTENANCE)


def get_queue(name: str, connection: Redis) -> Queue:
    """Return the named queue, with JSON serialization (pickle would let Redis run code)."""
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection, serializer=JSONSerializer)
