"""Partners' signed revocation lists: the last one imported from each partner, and its entries.

Revision ID: 0011_revocation
Revises: 0010_journey
Create Date: 2026-12-04 18:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011_revocation"
down_revision = "0010_journey"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "partner_revocation_lists",
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("list_sha256", sa.String(length=64), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_partner_revocation_lists")),
    )
    op.create_table(
        "partner_revocations",
        sa.Column("partner_id", sa.String(length=63), nullable=False),
        sa.Column("hash", sa.String(length=22), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner_revocation_lists.partner_id"],
            name=op.f("fk_partner_revocations_partner_id_partner_revocation_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "hash", name=op.f("pk_partner_revocations")),
    )


def downgrade():
    op.drop_table("partner_revocations")
    op.drop_table("partner_revocation_lists")
