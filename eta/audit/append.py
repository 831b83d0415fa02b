"""Append-only, hash-chained audit events: who did what, and proof nobody edited it afterwards."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, text
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
_HEAD_QUERY = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
# PostgreSQL: the lock and the head in one round trip, as one simple query of two statements.
# Each statement of it takes its own snapshot (READ COMMITTED), so the head is read once the lock
# is held and sees the last event of whoever held it before; one statement reading the head in a
# subquery would use a snapshot taken before it waited for the lock, and could fork the chain.
_LOCK_AND_HEAD = (
    f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK_ID:d}); "  # noqa: S608  (a constant number)
    "SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1"
)
_SQLITE_WRITE_LOCK = text("UPDATE audit_events SET id = id WHERE 1 = 0")
_INSERT = insert(AuditEvent.__table__)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Entry:
    """An audit event to append with `append()`: what `record()` takes, as a value."""

    action: str
    actor: str
    object_type: str | None = None
    object_id: str | None = None
    details: dict[str, Any] | None = None


def body(
    at: dt.datetime,
    actor: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    details: dict[str, Any],
) -> str:
    """The text an event's hash covers, after the previous event's hash: ASCII-only JSON."""
    return json.dumps(
        {
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


def _hash(prev_hash: str, event_body: str) -> str:
    """The chain's hash of an event: SHA-256 of the previous hash then the event's `body()`."""
    return hashlib.sha256((prev_hash + event_body).encode()).hexdigest()


# The same hash computed by PostgreSQL, for a statement that links events to a head it reads
# itself: `prev` and the body are ASCII, so their UTF-8 bytes are those Python hashes.
HASH_SQL = "encode(sha256(convert_to({prev} || {body}, 'UTF8')), 'hex')"
# The chain's lock alone, for a statement sent after it that reads the head (see _LOCK_AND_HEAD).
LOCK_SQL = f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK_ID:d})"


def _event_hash(prev_hash: str, event: AuditEvent) -> str:
    text = body(
        event.at, event.actor, event.action, event.object_type, event.object_id, event.details
    )
    return _hash(prev_hash, text)


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


def append(session: SessionLike, entries: Sequence[Entry]) -> None:
    """Append events with one Core INSERT in the session's transaction (the caller commits).

    The same chain and hashes as `record()` for each entry in turn, without building ORM objects
    or going through a flush; for hot paths (the screening job's decision).
    """
    prev_hash = _chain_head(session)
    rows = []
    for entry in entries:
        at = utcnow()
        details = entry.details or {}
        event_hash = _hash(
            prev_hash,
            body(at, entry.actor, entry.action, entry.object_type, entry.object_id, details),
        )
        rows.append(
            {
                "at": at,
                "actor": entry.actor,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "details": details,
                "prev_hash": prev_hash,
                "hash": event_hash,
            }
        )
        prev_hash = event_hash
    if not rows:
        return
    # An executemany runs its rows in order, so ids follow the chain.
    session.connection().execute(_INSERT, rows)
    linked(session, prev_hash)


def known_head(session: SessionLike) -> str | None:
    """The hash this transaction's last event has, if it appended any; else None.

    Pending events are written first, so that a statement appending after them finds them in
    the table in chain order. A transaction that appended holds the chain's lock (PostgreSQL).
    """
    cached = session.info.get(_HEAD_KEY)
    transaction = _innermost_transaction(session)
    if cached is None or transaction is None or cached[0] is not transaction:
        return None
    if any(isinstance(pending, AuditEvent) for pending in session.new):
        session.flush()
    return str(cached[1])


def linked(session: SessionLike, last_hash: str) -> None:
    """Note that the transaction's events now end with `last_hash` (appended by a statement)."""
    session.info[_HEAD_KEY] = (_innermost_transaction(session), last_hash)


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
        return _locked_head_postgresql(session)
    # SQLite has no such lock: a write takes the database's write lock, which holds other
    # writers off until this transaction ends. Writing what is pending puts earlier events of
    # this transaction in the chain before this one; the write that changes nothing takes the
    # lock when nothing was pending (an audit event as a transaction's first change), else the
    # head would be read outside any transaction and two writers could link to the same one.
    session.flush()
    connection = session.connection()
    connection.execute(_SQLITE_WRITE_LOCK)
    return connection.execute(_HEAD_QUERY).scalar() or GENESIS_HASH


def _locked_head_postgresql(session: SessionLike) -> str:
    # Through SQLAlchemy (its events, its error wrapping and disconnect handling), without
    # parameters: psycopg then sends the two statements as one simple query and receives both
    # results before returning, so the second is a step through what already arrived.
    result = session.connection().exec_driver_sql(
        _LOCK_AND_HEAD, execution_options={"no_parameters": True}
    )
    cursor = result.cursor
    try:
        cursor.nextset()
        row = cursor.fetchone()
    finally:
        result.close()
    return str(row[0]) if row else GENESIS_HASH


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
