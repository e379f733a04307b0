"""Brand earning rules: versions of extra bps per category and tier, and what each epoch applied of them.

Revision ID: 0018_brand_rates
Revises: 0014_upkeep
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_brand_rates"
down_revision = "0014_upkeep"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brand_earning_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_epoch", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("brand_id", "version", name="uq_brand_earning_rules_version"),
    )
    with op.batch_alter_table("brand_earning_rules", schema=None) as batch_op:
        batch_op.create_index("ix_brand_earning_rules_brand_id", ["brand_id"], unique=False)
    op.create_table(
        "brand_earning_rule_rows",
        sa.Column("rules_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("extra_bps", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["rules_id"], ["brand_earning_rules.id"]),
        sa.PrimaryKeyConstraint("rules_id", "category", "tier"),
    )
    op.create_table(
        "epoch_brand_rules",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("brand_id", sa.BigInteger(), nullable=False),
        sa.Column("rules_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("epoch", "brand_id"),
    )
    op.create_table(
        "epoch_brand_rate_lines",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("brand_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("extra_bps", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("epoch", "purchase_id"),
    )


def downgrade() -> None:
    op.drop_table("epoch_brand_rate_lines")
    op.drop_table("epoch_brand_rules")
    op.drop_table("brand_earning_rule_rows")
    with op.batch_alter_table("brand_earning_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_brand_earning_rules_brand_id")
    op.drop_table("brand_earning_rules")
