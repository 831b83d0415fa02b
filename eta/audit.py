"""Append-only, hash-chained audit events: who did what, and proof nobody edited it afterwards."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import scoped_session

from eta.models import AuditEvent
from eta.models.base import SessionLike
from eta.timeutil import utcnow

GENESIS_HASH = "0" * 64
# Any 64-bit number unique to eta: serialises appends on PostgreSQL so the chain never forks.
_CHAIN_LOCK_ID = 0x6574615F61756469
# session.info key: (transaction, hash of the last event this transaction appended).
_HEAD_KEY = "eta.audit.head"
# Built once: building a statement costs more than running it.
_LOCK = text(f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK_ID})")
_HEAD_QUERY = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)


def _event_hash(prev_hash: str, event: AuditEvent) -> str:
    body = json.dumps(
        {
            "at": event.at.isoformat(timespec="microseconds"),
            "actor": event.actor,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "details": event.details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(
    session: SessionLike,
    action: str,
    *,
    actor: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event to the session's transaction (the caller commits).

    Details must not hold personal data: an application is named by its reference only.
    """
    prev_hash = _chain_head(session)
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details or {},
        prev_hash=prev_hash,
    )
    event.hash = _event_hash(prev_hash, event)
    # Inserted at the next flush or commit, after this transaction's earlier events: the unit of
    # work inserts new rows of a table in the order they were added, so ids follow the chain.
    session.add(event)
    session.info[_HEAD_KEY] = (_innermost_transaction(session), event.hash)
    return event


def _innermost_transaction(session: SessionLike) -> object:
    real = session() if isinstance(session, scoped_session) else session
    return real.get_nested_transaction() or real.get_transaction()


def _chain_head(session: SessionLike) -> str:
    """The hash the next event links to.

    The first event of a transaction takes the chain's lock (PostgreSQL; on SQLite the flush
    takes the database's write lock) and reads the last stored hash; later events of the same
    transaction link to the one before them without asking the database again, since nobody
    else can append until this transaction ends. A savepoint is a transaction of its own here,
    so an event rolled back with a savepoint is never linked to.
    """
    cached = session.info.get(_HEAD_KEY)
    transaction = _innermost_transaction(session)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return str(cached[1])
    if session.get_bind().dialect.name == "postgresql":
        # The lock, not a write, keeps others out: the transaction's other changes can wait
        # for its commit and go in one flush, unless an event not yet linked is among them.
        if any(isinstance(pending, AuditEvent) for pending in session.new):
            session.flush()
        with session.no_autoflush:
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})
            head = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
        return head or GENESIS_HASH
    # SQLite has no such lock: writing what is pending takes the database's write lock, which
    # holds other writers off until this transaction ends. It also puts earlier events of this
    # transaction in the chain before this one.
    session.flush()
    return session.scalar(_HEAD_QUERY) or GENESIS_HASH


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking the chain: how many events, and the first broken one if any."""

    events: int
    broken_event_id: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        """True when every event's hash and link hold."""
        return self.broken_event_id is None


def verify_chain(session: SessionLike, batch_size: int = 5000) -> ChainReport:
    """Recompute every event's hash in order and report the first event that does not match."""
    prev_hash = GENESIS_HASH
    count = 0
    last_id = 0
    while True:
        batch = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return ChainReport(count, None, None)
        for event in batch:
            count += 1
            if event.prev_hash != prev_hash:
                return ChainReport(count, event.id, "its link to the previous event is broken")
            if _event_hash(prev_hash, event) != event.hash:
                return ChainReport(count, event.id, "its content does not match its hash")
            prev_hash = event.hash
            last_id = event.id
