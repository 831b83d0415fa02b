"""Applications keep the name as printed in Latin letters on the passport's data page.

Revision ID: 0010_journey
Revises: 0009
Create Date: 2026-12-04 11:50:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_journey"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("latin_given_names", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("latin_surname", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("latin_surname")
        batch.drop_column("latin_given_names")
