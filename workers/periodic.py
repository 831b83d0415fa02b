"""Periodic jobs declared as data, with stable ids so scheduling them again changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from eta.outbox import enqueue
from eta.tasks import MAINTENANCE, RECOVERY
from workers import issuance, maintenance, screening


@dataclass(frozen=True)
class Periodic:
    """A job to enqueue every `every` seconds on `queue`."""

    id: str
    func: Callable[..., Any]
    every: int
    queue: str = MAINTENANCE


PERIODIC_JOBS: list[Periodic] = [
    # Nothing lost: outbox rows Redis was down for, or lost, are pushed again (eta.outbox).
    Periodic("relay-outbox", maintenance.relay_outbox, every=5, queue=RECOVERY),
    Periodic("expire-authorisations", maintenance.expire_authorisations, every=600),
    Periodic("purge-expired-drafts", maintenance.purge_expired_drafts, every=3600),
    # No case stuck waiting for a traveller who never answers (ETA_INFORMATION_DAYS).
    Periodic("lapse-information-requests", maintenance.lapse_information_requests, every=3600),
    # Never lost: screening left waiting (Redis down at submission, a killed worker).
    Periodic(
        "sweep-stuck-applications", screening.sweep_stuck_applications, every=60, queue=RECOVERY
    ),
    # Retired signing keys leave the JWKS once every token they signed has expired.
    Periodic("remove-expired-keys", issuance.remove_expired_keys, every=24 * 3600),
    # The retention limit: personal data of applications that ended long enough ago.
    Periodic("erase-personal-data", maintenance.erase_personal_data, every=24 * 3600),
]


def tick(connection: Redis, jobs: list[Periodic] | None = None) -> list[str]:
    """Enqueue every periodic job that is due, once across all workers; returns their ids.

    A Redis key per job, set with NX and a TTL of its period, is the lease: however many
    workers tick, only the one that sets the key enqueues, and the job id is stable too.
    """
    due = []
    for periodic in PERIODIC_JOBS if jobs is None else jobs:
        if connection.set(f"eta:periodic:{periodic.id}", "1", nx=True, ex=periodic.every):
            enqueue(connection, periodic.queue, periodic.func, job_id=f"periodic-{periodic.id}")
            due.append(periodic.id)
    return due
