"""The passport chip: imported CSCA certificates, each application's chip files and result, and
the screening check `chip`.

Revision ID: 0016_chip
Revises: 0015_camera
Create Date: 2026-12-04 21:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0016_chip"
down_revision = "0015_camera"
branch_labels = None
depends_on = None

CHECKS = "'document', 'lost_stolen', 'watchlist', 'rule', 'history', 'answers', 'face'"


def upgrade():
    op.create_table(
        "csca_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=3), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csca_certificates")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_csca_certificates_fingerprint")),
    )
    op.create_index(
        op.f("ix_csca_certificates_country"), "csca_certificates", ["country"], unique=False
    )
    op.create_table(
        "application_chips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sod_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("dg1_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("dg2_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("face_distance", sa.Double(), nullable=True),
        sa.Column("face_threshold", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_chips_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_chips")),
        sa.UniqueConstraint("application_id", name=op.f("uq_application_chips_application_id")),
    )
    with op.batch_alter_table("screening_hits") as batch:
        batch.drop_constraint(op.f("ck_screening_hits_check_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_screening_hits_check_known"),
            f"check_name IN ({CHECKS}, 'chip', 'check_failed')",
        )


def downgrade():
    op.execute(sa.text("DELETE FROM screening_hits WHERE check_name = 'chip'"))
    with op.batch_alter_table("screening_hits") as batch:
        batch.drop_constraint(op.f("ck_screening_hits_check_known"), type_="check")
        batch.create_check_constraint(
            op.f("ck_screening_hits_check_known"), f"check_name IN ({CHECKS}, 'check_failed')"
        )
    op.drop_table("application_chips")
    op.drop_index(op.f("ix_csca_certificates_country"), table_name="csca_certificates")
    op.drop_table("csca_certificates")
