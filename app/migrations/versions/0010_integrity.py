"""Purchase voids (operator, with a reason) and the audience privacy budget with its stored noisy answers.

Revision ID: 0010_integrity
Revises: 0009_hardened_contracts
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_integrity"
down_revision = "0009_hardened_contracts"
branch_labels = None
depends_on = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "purchase_voids",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purchase_id", sa.Integer(), sa.ForeignKey("purchases.id"), nullable=False, unique=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("voided_by", sa.String(100), nullable=False),
        sa.Column("voided_at", AWARE, nullable=False),
    )
    op.create_table(
        "audience_budgets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("period_start", AWARE, nullable=False),
        sa.Column("spent_micro", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("brand_id", "period_start", name="uq_audience_budgets_brand_period"),
        sa.CheckConstraint("spent_micro >= 0", name="ck_audience_budgets_spent"),
    )
    op.create_table(
        "audience_answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("period_start", AWARE, nullable=False),
        sa.Column("query_key", sa.String(64), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("epsilon_micro", sa.BigInteger(), nullable=False),
        sa.Column("created_at", AWARE, nullable=False),
        sa.UniqueConstraint("brand_id", "period_start", "query_key", name="uq_audience_answers_query"),
    )


def downgrade() -> None:
    op.drop_table("audience_answers")
    op.drop_table("audience_budgets")
    op.drop_table("purchase_voids")
