"""Retention limit: erased applications keep a skeleton (personal columns NULL, erased_at set).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 18:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Columns that held personal data NOT NULL and become NULL when the row is erased.
APPLICATION_COLUMNS = [
    ('given_names', sa.String(length=200)),
    ('surname', sa.String(length=200)),
    ('given_names_mrz', sa.String(length=200)),
    ('surname_mrz', sa.String(length=200)),
    ('date_of_birth', sa.Date()),
    ('place_of_birth', sa.String(length=200)),
    ('passport_number', sa.String(length=20)),
    ('passport_number_normalised', sa.String(length=20)),
    ('email', sa.String(length=254)),
    ('address_line1', sa.String(length=200)),
    ('address_city', sa.String(length=100)),
    ('occupation', sa.String(length=200)),
]
AUTHORISATION_COLUMNS = [
    ('token', sa.Text()),
    ('passport_number_normalised', sa.String(length=20)),
]


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('age_at_submission', sa.Integer(), nullable=True))
        for name, type_ in APPLICATION_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=True)
        batch_op.create_index('ix_applications_erase_after', ['erase_after'], unique=False)
    with op.batch_alter_table('authorisations', schema=None) as batch_op:
        for name, type_ in AUTHORISATION_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=True)


def downgrade():
    # Erased rows cannot go back to NOT NULL columns: the downgrade refuses rather than invent
    # personal data. Restore a backup taken before the erasure instead.
    erased = op.get_bind().execute(
        sa.text('SELECT count(*) FROM applications WHERE erased_at IS NOT NULL')
    ).scalar()
    if erased:
        raise RuntimeError(
            f'{erased} applications were erased under the retention limit: their personal '
            'columns are NULL and cannot become NOT NULL again'
        )
    with op.batch_alter_table('authorisations', schema=None) as batch_op:
        for name, type_ in AUTHORISATION_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ix_applications_erase_after')
        for name, type_ in APPLICATION_COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.drop_column('age_at_submission')
        batch_op.drop_column('erased_at')
