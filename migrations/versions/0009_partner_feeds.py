"""Partner agencies' lost/stolen feeds: their state and their entries (keyed hashes).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 23:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partner_feeds",
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("ours", sa.Boolean(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("key_check", sa.String(length=16), nullable=False),
        sa.Column("batch_sha256", sa.String(length=64), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_partner_feeds")),
    )
    op.create_table(
        "partner_feed_entries",
        sa.Column("digest", sa.LargeBinary(length=16), nullable=False),
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_feeds.partner_id"],
            name=op.f("fk_partner_feed_entries_partner_id_partner_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", "partner_id", name=op.f("pk_partner_feed_entries")),
    )
    with op.batch_alter_table("partner_feed_entries", schema=None) as batch_op:
        batch_op.create_index("ix_partner_feed_entries_partner_id", ["partner_id"], unique=False)


def downgrade():
    with op.batch_alter_table("partner_feed_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_feed_entries_partner_id")
    op.drop_table("partner_feed_entries")
    op.drop_table("partner_feeds")
