"""Audit log as a Merkle tree: events get a body, a leaf hash and a position; tree nodes,
checkpoints and the sequencer's state get tables. The old hash chain is checked first: the
existing events become the first leaves, in id order, only if it is intact.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:30:00.000000

"""

import datetime as dt
import hashlib
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 2000
GENESIS_HASH = "0" * 64


# The event's text, as the chain hashed it (eta.audit.append.body at this revision; written
# out here so this migration means the same thing whatever the code becomes).
def _body(row):
    at = row.at
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    details = row.details
    if isinstance(details, str):
        details = json.loads(details)
    return json.dumps(
        {
            "at": at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds"),
            "actor": row.actor,
            "action": row.action,
            "object_type": row.object_type,
            "object_id": row.object_id,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


def _node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class ChainBroken(RuntimeError):
    """The old chain does not verify: its events cannot become trustworthy leaves."""


def upgrade():
    bind = op.get_bind()
    # Checked before any change: SQLite's DDL is not transactional, so a refusal found while
    # converting would leave its new columns behind.
    _check_chain(bind)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("position", sa.BigInteger(), nullable=True))
    op.create_table(
        "audit_tree_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_audit_tree_nodes")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_audit_checkpoints_tree_size")),
    )
    state = op.create_table(
        "audit_log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("sequenced_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log_state")),
    )

    size, edge = _leaves_from_chain(bind)
    root = None
    if edge:
        root = edge[-1]
        for left in reversed(edge[:-1]):
            root = _node(left, root)
    op.bulk_insert(state, [{"id": 1, "tree_size": size, "root_hash": root, "sequenced_at": None}])

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.alter_column("body", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("leaf_hash", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.drop_constraint("uq_audit_events_hash", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.create_unique_constraint(batch_op.f("uq_audit_events_position"), ["position"])
        batch_op.create_index(
            "ix_audit_events_unsequenced",
            ["id"],
            unique=False,
            postgresql_where=sa.text("position IS NULL"),
            sqlite_where=sa.text("position IS NULL"),
        )


def _check_chain(bind):
    """Raise ChainBroken at the first event whose link or hash does not hold (reads only)."""
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("object_type", sa.String()),
        sa.column("object_id", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    prev_hash, last_id = GENESIS_HASH, 0
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            _check_link(row, prev_hash, _body(row))
            prev_hash, last_id = row.hash, row.id


def _check_link(row, prev_hash, text):
    if row.prev_hash != prev_hash:
        raise ChainBroken(
            f"audit chain broken at event {row.id}: its link to the previous event is "
            "broken; the migration to the Merkle log refuses (restore the log first)"
        )
    if hashlib.sha256((prev_hash + text).encode()).hexdigest() != row.hash:
        raise ChainBroken(
            f"audit chain broken at event {row.id}: its content does not match its "
            "hash; the migration to the Merkle log refuses (restore the log first)"
        )


def _leaves_from_chain(bind):
    """Check the chain in id order and make each event the next leaf; returns the frontier.

    Raises ChainBroken (and so the migration, in its transaction, changes nothing) at the
    first event whose link or hash does not hold.
    """
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("object_type", sa.String()),
        sa.column("object_id", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
        sa.column("body", sa.Text()),
        sa.column("leaf_hash", sa.LargeBinary()),
        sa.column("position", sa.BigInteger()),
    )
    nodes = sa.table(
        "audit_tree_nodes",
        sa.column("level", sa.SmallInteger()),
        sa.column("index", sa.BigInteger()),
        sa.column("hash", sa.LargeBinary()),
    )
    update = (
        events.update()
        .where(events.c.id == sa.bindparam("event_id"))
        .values(
            body=sa.bindparam("new_body"),
            leaf_hash=sa.bindparam("new_leaf"),
            position=sa.bindparam("new_position"),
        )
    )
    prev_hash = GENESIS_HASH
    size = 0
    edge = []  # hashes of the maximal complete subtrees so far, largest first
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.id > last_id).order_by(events.c.id).limit(BATCH)
        ).all()
        if not rows:
            return size, edge
        changes, completed = [], []
        for row in rows:
            text = _body(row)
            _check_link(row, prev_hash, text)
            prev_hash = row.hash
            leaf = hashlib.sha256(b"\x00" + text.encode("ascii")).digest()
            changes.append(
                {"event_id": row.id, "new_body": text, "new_leaf": leaf, "new_position": size}
            )
            position, value, level = size, leaf, 0
            while position & 1:
                value = _node(edge.pop(), value)
                level += 1
                position >>= 1
                completed.append({"level": level, "index": position, "hash": value})
            edge.append(value)
            size += 1
            last_id = row.id
        bind.execute(update, changes)
        if completed:
            bind.execute(nodes.insert(), completed)


def downgrade():
    # Back to a chain over the same events in tree order (unsequenced ones after them, by id).
    bind = op.get_bind()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("body", sa.Text()),
        sa.column("position", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    rows = bind.execute(
        sa.select(events.c.id, events.c.body).order_by(
            events.c.position.is_(None), events.c.position, events.c.id
        )
    ).all()
    prev_hash, changes = GENESIS_HASH, []
    for row in rows:
        value = hashlib.sha256((prev_hash + row.body).encode()).hexdigest()
        changes.append({"event_id": row.id, "new_prev": prev_hash, "new_hash": value})
        prev_hash = value
    if changes:
        bind.execute(
            events.update()
            .where(events.c.id == sa.bindparam("event_id"))
            .values(prev_hash=sa.bindparam("new_prev"), hash=sa.bindparam("new_hash")),
            changes,
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_unsequenced")
        batch_op.drop_constraint("uq_audit_events_position", type_="unique")
        batch_op.drop_column("position")
        batch_op.drop_column("leaf_hash")
        batch_op.drop_column("body")
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_audit_events_hash", ["hash"])
    op.drop_table("audit_log_state")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_tree_nodes")
