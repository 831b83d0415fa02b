"""The audit log's tables: events (the leaves), the Merkle tree's nodes, signed checkpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow

# SHA-256 digests: leaves, nodes and roots (RFC 9162 §2.1.1).
HASH_BYTES = 32


class AuditEvent(Base):
    """Who did what to which record, and when: one leaf of the audit log's Merkle tree.

    `body` is the exact text the leaf hash covers (`SHA-256(0x00 || body)`); `position` is the
    leaf's index in the tree, given by the sequencer after the event's transaction committed
    (None until then).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))  # "officer:12", "system", "carrier:3"
    action: Mapped[str] = mapped_column(String(50), index=True)
    object_type: Mapped[str | None] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(64))
    # Never personal data beyond an application reference (ASVS V16).
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    body: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)

    __table_args__ = (
        # What the sequencer reads: the events not yet in the tree, oldest first. Partial, so
        # it stays as small as the backlog however long the log grows.
        Index(
            "ix_audit_events_unsequenced",
            "id",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
    )


class AuditTreeNode(Base):
    """A complete subtree's hash: the node covering leaves [index·2^level, (index+1)·2^level).

    Level 0 (the leaves) lives in `audit_events.leaf_hash`; every other complete node is
    stored once, when the sequencer completes it, so any proof needs O(log n) rows.
    """

    __tablename__ = "audit_tree_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))


class AuditCheckpoint(Base):
    """A signed checkpoint: the tree's size and root at a time, as a C2SP signed note."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(HASH_BYTES))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    key_id: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text)


class AuditLogState(Base):
    """The one row saying how far the sequencer got: the tree's size and root.

    It is also the sequencer's lease: a sequencer holds this row locked for its transaction
    (PostgreSQL: FOR UPDATE SKIP LOCKED, so a second sequencer skips rather than waits).
    """

    __tablename__ = "audit_log_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    root_hash: Mapped[bytes | None] = mapped_column(LargeBinary(HASH_BYTES))
    sequenced_at: Mapped[dt.datetime | None] = mapped_column()
