"""Face template changes: the log the in-memory 1:N indexes follow (issue 18).

Revision ID: 0015_camera
Revises: 0014_review
Create Date: 2026-12-04 21:40:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_camera"
down_revision = "0014_review"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "face_template_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_template_changes")),
    )
    # The templates stored before this log existed: one "added" row each, so an index built
    # from the log alone would still find them (indexes start from the gallery anyway).
    photos = sa.table(
        "application_photos",
        sa.column("application_id", sa.Integer()),
        sa.column("template_sealed", sa.LargeBinary()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    changes = sa.table(
        "face_template_changes",
        sa.column("application_id", sa.Integer()),
        sa.column("added", sa.Boolean()),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    op.execute(
        changes.insert().from_select(
            ["application_id", "added", "at"],
            sa.select(photos.c.application_id, sa.true(), photos.c.created_at)
            .where(photos.c.template_sealed.is_not(None))
            .order_by(photos.c.application_id),
        )
    )


def downgrade():
    op.drop_table("face_template_changes")
