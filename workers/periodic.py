"""Periodic jobs declared as data, with stable ids so scheduling them again changes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis import Redis

from eta.outbox import enqueue
from eta.tasks import AUDIT, MAINTENANCE, RECOVERY
from workers import issuance, maintenance, screening

# A job's lease key in Redis lives this much less than its period, so that a ticker waking
# once a period never finds the key it set one period ago still there.
LEASE_MARGIN_MS = 250


@dataclass(frozen=True)
class Periodic:
    """A job to enqueue every `every` seconds on `queue`.

    With `every_setting`, the period is that setting of the app's configuration when it has
    one. A `self_leased` job guards itself in the database (one run at a time however many are
    queued): each period enqueues a job of its own id, so one that died while running (RQ
    keeps it "started" until its timeout) never holds back the next.
    """

    id: str
    func: Callable[..., Any]
    every: int
    queue: str = MAINTENANCE
    every_setting: str | None = None
    self_leased: bool = False

    def period(self, config: Mapping[str, Any] | None = None) -> int:
        """This job's period in seconds under `config`."""
        if self.every_setting and config and config.get(self.every_setting):
            return int(config[self.every_setting])
        return self.every

    def job_id(self, period: int) -> str:
        """The job's id: stable, or per period for a self-leased job."""
        if self.self_leased:
            return f"periodic-{self.id}-{int(time.time()) // period}"
        return f"periodic-{self.id}"


PERIODIC_JOBS: list[Periodic] = [
    # Nothing lost: outbox rows Redis was down for, or lost, are pushed again (eta.outbox).
    Periodic("relay-outbox", maintenance.relay_outbox, every=5, queue=RECOVERY),
    # The audit log: sequence committed events and sign a checkpoint (SPEC §6).
    Periodic(
        "sequence-audit-log",
        maintenance.sequence_audit_log,
        every=5,
        queue=AUDIT,
        every_setting="ETA_AUDIT_CHECKPOINT_SECONDS",
        self_leased=True,
    ),
    Periodic("expire-authorisations", maintenance.expire_authorisations, every=600),
    Periodic("purge-expired-drafts", maintenance.purge_expired_drafts, every=3600),
    # No case stuck waiting for a traveller who never answers (ETA_INFORMATION_DAYS).
    Periodic("lapse-information-requests", maintenance.lapse_information_requests, every=3600),
    # Ended staff sessions, kept ETA_STAFF_SESSION_RETENTION_DAYS for investigations, then gone.
    Periodic("prune-staff-sessions", maintenance.prune_staff_sessions, every=24 * 3600),
    # Never lost: screening left waiting (Redis down at submission, a killed worker).
    Periodic(
        "sweep-stuck-applications",
        screening.sweep_stuck_applications,
        every=60,
        queue=RECOVERY,
        every_setting="ETA_SWEEP_SECONDS",
    ),
    # Retired signing keys leave the JWKS once every token they signed has expired.
    Periodic("remove-expired-keys", issuance.remove_expired_keys, every=24 * 3600),
    # The retention limit: personal data of applications that ended long enough ago.
    Periodic("erase-personal-data", maintenance.erase_personal_data, every=24 * 3600),
]


def tick(
    connection: Redis,
    jobs: list[Periodic] | None = None,
    config: Mapping[str, Any] | None = None,
) -> list[str]:
    """Enqueue every periodic job that is due, once across all workers; returns their ids.

    A Redis key per job, set with NX and a TTL of (just under) its period, is the lease:
    however many workers tick, only the one that sets the key enqueues, and the job id is
    stable too (per period for a self-leased job).
    """
    due = []
    for periodic in PERIODIC_JOBS if jobs is None else jobs:
        period = periodic.period(config)
        lease_ms = max(period * 1000 - LEASE_MARGIN_MS, 1)
        if connection.set(f"eta:periodic:{periodic.id}", "1", nx=True, px=lease_ms):
            enqueue(connection, periodic.queue, periodic.func, job_id=periodic.job_id(period))
            due.append(periodic.id)
    return due


def tick_seconds(longest: int, config: Mapping[str, Any] | None = None) -> int:
    """How often a worker ticks: its usual interval, or the shortest period if that is shorter."""
    return min([longest, *(periodic.period(config) for periodic in PERIODIC_JOBS)])
