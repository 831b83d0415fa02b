"""Server-side staff sessions (officers and carrier check-in staff); the officer session epoch goes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 23:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("carrier_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "(officer_id IS NULL) <> (carrier_user_id IS NULL)",
            name=op.f("ck_staff_sessions_one_account"),
        ),
        sa.ForeignKeyConstraint(
            ["carrier_user_id"],
            ["carrier_users.id"],
            name=op.f("fk_staff_sessions_carrier_user_id_carrier_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
            name=op.f("fk_staff_sessions_officer_id_officers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_sessions_officer_id"), ["officer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_staff_sessions_carrier_user_id"), ["carrier_user_id"], unique=False
        )
    # Sessions that carried the epoch are void after this upgrade: every officer signs in again.
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")


def downgrade():
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("officers", schema=None) as batch_op:
        batch_op.alter_column("session_epoch", server_default=None)
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_carrier_user_id"))
        batch_op.drop_index(batch_op.f("ix_staff_sessions_officer_id"))
    op.drop_table("staff_sessions")
