"""Applications' facial photos and face templates (encrypted), and the screening check `face`.

Revision ID: 0013_identity
Revises: 0012_ops
Create Date: 2026-12-04 18:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013_identity"
down_revision = "0012_ops"
branch_labels = None
depends_on = None

CHECKS = "'document', 'lost_stolen', 'watchlist', 'rule', 'history', 'answers'"


def upgrade():
    op.create_table(
        "application_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("photo_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("face", sa.JSON(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=False),
        sa.Column("template_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("template_version", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_photos_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_photos")),
        sa.UniqueConstraint("application_id", name=op.f("uq_application_photos_application_id")),
    )
    with op.batch_alter_table("screening_hits") as batch:
        batch.drop_constraint(op.f("ck_screening_hits_check_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_screening_hits_check_known"), f"check_name IN ({CHECKS}, 'face', 'check_failed')"
        )


def downgrade():
    op.execute(sa.text("DELETE FROM screening_hits WHERE check_name = 'face'"))
    with op.batch_alter_table("screening_hits") as batch:
        batch.drop_constraint(op.f("ck_screening_hits_check_known"), type_="check")
        batch.create_check_constraint(op.f("ck_screening_hits_check_known"), f"check_name IN ({CHECKS}, 'check_failed')")
    op.drop_table("application_photos")
