"""The sequencer: gives committed audit events their places in the tree, in batches, one at a time.

Writers never wait for it: they insert events with no position. One sequencer at a time holds
the lease (the `audit_log_state` row, locked for its transaction: on PostgreSQL with FOR UPDATE
SKIP LOCKED, so another sequencer skips at once instead of queueing; on SQLite a write to that
row takes the database's single write lock). Under the lease it reads the tree's size, gives
the next positions to the oldest unsequenced events, stores the tree nodes they complete and
the new root, and commits: a sequencer killed mid-batch commits nothing, so its events are
sequenced by the next one, never lost and never twice (positions are unique as well).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from eta.audit import checkpoints, tree
from eta.audit.proofs import StoredNodes
from eta.issuance.keys import Keyring
from eta.models import AuditCheckpoint, AuditEvent, AuditLogState, AuditTreeNode
from eta.models.base import SessionLike
from eta.timeutil import utcnow

STATE_ID = 1
# Events per transaction: large enough that a busy second costs a handful of round trips,
# small enough that a batch holds its lease for well under a second.
BATCH_SIZE = 2000
# A run stops starting batches after this long, so the next tick's run finds the lease free.
TIME_LIMIT_SECONDS = 3.0

_EVENTS: Table = AuditEvent.__table__  # type: ignore[assignment]
_POSITION = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("event_id"), _EVENTS.c.position.is_(None))
    .values(position=bindparam("new_position"))
)
_NODES = insert(AuditTreeNode.__table__)  # type: ignore[arg-type]
_UNSEQUENCED = (
    select(AuditEvent.id, AuditEvent.leaf_hash)
    .where(AuditEvent.position.is_(None))
    .order_by(AuditEvent.id)
    .limit(bindparam("batch_size"))
)


class LostRace(RuntimeError):
    """Another sequencer changed the tree under this one (should never happen under the lease)."""


def lease(session: SessionLike) -> AuditLogState | None:
    """Take the sequencer's lease in the session's transaction; None if another holds it."""
    for _ in range(2):
        state = _locked_state(session)
        if state is not None:
            return state
        if session.scalar(select(AuditLogState.id).where(AuditLogState.id == STATE_ID)):
            return None  # held by another sequencer
        _create_state(session)
    return None


def _locked_state(session: SessionLike) -> AuditLogState | None:
    if session.get_bind().dialect.name == "postgresql":
        return session.scalars(
            select(AuditLogState)
            .where(AuditLogState.id == STATE_ID)
            .with_for_update(skip_locked=True)
        ).first()
    # SQLite: this write takes the database's write lock before anything is read, so the
    # state read next is the one the last sequencer committed.
    session.execute(
        update(AuditLogState)
        .where(AuditLogState.id == STATE_ID)
        .values(tree_size=AuditLogState.tree_size)
    )
    return session.get(AuditLogState, STATE_ID, populate_existing=True)


def _create_state(session: SessionLike) -> None:
    """Create the state row of an empty log, committed on its own so it can then be locked."""
    try:
        session.add(AuditLogState(id=STATE_ID, tree_size=0, root_hash=None))
        session.commit()
    except IntegrityError:  # another sequencer created it first
        session.rollback()


def sequence_batch(session: SessionLike, batch_size: int = BATCH_SIZE) -> int | None:
    """Sequence up to `batch_size` events and commit; how many, or None if the lease was held."""
    state = lease(session)
    if state is None:
        session.rollback()
        return None
    rows = session.execute(_UNSEQUENCED, {"batch_size": batch_size}).all()
    if not rows:
        session.rollback()
        return 0
    stored = StoredNodes(session)
    keys = tree.frontier_keys(state.tree_size)
    stored.preload(keys)
    frontier = tree.Frontier(state.tree_size, [stored.node(*key) for key in keys])
    positions: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []

    def completed(level: int, index: int, value: bytes) -> None:
        nodes.append({"level": level, "index": index, "hash": value})

    for event_id, leaf in rows:
        positions.append({"event_id": event_id, "new_position": frontier.size})
        frontier.append(bytes(leaf), completed)
    connection = session.connection()
    updated = connection.execute(_POSITION, positions)
    if updated.rowcount != len(positions):
        session.rollback()
        raise LostRace("an event was sequenced by someone else during this batch")
    if nodes:
        connection.execute(_NODES, nodes)
    state.tree_size = frontier.size
    state.root_hash = frontier.root()
    state.sequenced_at = utcnow()
    session.commit()
    return len(rows)


@dataclass(frozen=True)
class Run:
    """What one run of the sequencer did."""

    sequenced: int
    checkpoint: AuditCheckpoint | None
    skipped: bool  # another sequencer held the lease


def run(
    session: SessionLike,
    keyring: Keyring,
    origin: str,
    *,
    batch_size: int = BATCH_SIZE,
    time_limit: float = TIME_LIMIT_SECONDS,
    now: dt.datetime | None = None,
) -> Run:
    """Sequence what is waiting (batches until caught up or out of time), then sign a checkpoint.

    The periodic job's body: every ETA_AUDIT_CHECKPOINT_SECONDS one worker runs it; a run that
    finds the lease held does nothing (the holder is at work), and one that died is replaced by
    the next tick's.
    """
    started = time.monotonic()
    total = 0
    while True:
        done = sequence_batch(session, batch_size)
        if done is None:
            return Run(total, None, skipped=True)
        total += done
        if done < batch_size or time.monotonic() - started > time_limit:
            break
    state = lease(session)
    if state is None:
        session.rollback()
        return Run(total, None, skipped=True)
    signed = checkpoints.sign_due(session, state, keyring, origin, now or utcnow())
    session.commit()
    return Run(total, signed, skipped=False)
