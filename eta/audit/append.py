"""Append audit events: rows written in the caller's transaction, each with its body and leaf hash.

Nothing here serialises writers: an event is an ordinary INSERT. Its place in the Merkle tree
is given later, after its transaction committed, by the sequencer (eta.audit.sequencer).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from eta.audit.tree import leaf_hash
from eta.models import AuditEvent
from eta.models.base import SessionLike
from eta.timeutil import utcnow

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
    """The text an event's leaf hash covers: ASCII-only JSON with sorted keys, no spaces."""
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


def event_body(event: Any) -> str:
    """What `body()` gives for a stored event's fields (an AuditEvent or a row of its columns)."""
    return body(
        event.at, event.actor, event.action, event.object_type, event.object_id, event.details
    )


def _row(entry: Entry) -> dict[str, Any]:
    at = utcnow()
    details = entry.details or {}
    text = body(at, entry.actor, entry.action, entry.object_type, entry.object_id, details)
    return {
        "at": at,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "details": details,
        "body": text,
        "leaf_hash": leaf_hash(text.encode("ascii")),
    }


def record(
    session: SessionLike,
    action: str,
    *,
    actor: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session's transaction (the caller commits).

    Details must not hold personal data: an application is named by its reference only.
    """
    row = _row(
        Entry(action, actor, object_type, None if object_id is None else str(object_id), details)
    )
    event = AuditEvent(**row)
    session.add(event)
    return event


def append(session: SessionLike, entries: Sequence[Entry]) -> None:
    """Append events with one Core INSERT in the session's transaction (the caller commits).

    The same rows as `record()` for each entry, without building ORM objects or a flush; for
    hot paths (the screening job's decision). Events that `record()` added to the session and
    that are not yet written are flushed first: the log keeps the order they were recorded in.
    """
    if entries:
        if session.new:
            session.flush()
        session.connection().execute(_INSERT, [_row(entry) for entry in entries])
