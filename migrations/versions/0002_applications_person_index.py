"""Index applications by person (date of birth and MRZ names) for screening's history check.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:55:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(
            'ix_applications_person',
            ['date_of_birth', 'surname_mrz', 'given_names_mrz'],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_person')
