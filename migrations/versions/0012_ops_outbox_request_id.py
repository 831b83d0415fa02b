"""The outbox keeps the request id of the work it holds, for the job's log lines.

Revision ID: 0012_ops
Revises: 0011_revocation
Create Date: 2026-12-04 18:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_ops"
down_revision = "0011_revocation"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("request_id")
