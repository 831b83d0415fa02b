"""Review requests: a refused traveller's grounds for a review of the refusal, and its outcome.

Revision ID: 0014_review
Revises: 0013_identity
Create Date: 2026-12-04 21:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_review"
down_revision = "0013_identity"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('upheld', 'overturned', 'withdrawn')",
            name=op.f("ck_review_requests_outcome_known"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_review_requests_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_review_requests_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_review_requests_decision_id")),
    )
    op.create_index(
        op.f("ix_review_requests_application_id"), "review_requests", ["application_id"]
    )


def downgrade():
    op.drop_index(op.f("ix_review_requests_application_id"), table_name="review_requests")
    op.drop_table("review_requests")
