"""Refunds: returns of (part of) a purchase, idempotent by the brand's own refund id.

Revision ID: 0020_refunds
Revises: 0018_brand_rates
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_refunds"
down_revision = "0018_brand_rates"
branch_labels = None
depends_on = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "purchase_refunds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purchase_id", sa.Integer(), sa.ForeignKey("purchases.id"), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("refunded_at", AWARE, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", AWARE, nullable=False),
        sa.UniqueConstraint("brand_id", "external_id", name="uq_purchase_refunds_brand_external"),
        sa.CheckConstraint("amount >= 1", name="ck_purchase_refunds_amount"),
    )
    op.create_index("ix_purchase_refunds_purchase", "purchase_refunds", ["purchase_id"])
    op.create_index("ix_purchase_refunds_customer_refunded", "purchase_refunds", ["customer_id", "refunded_at"])


def downgrade() -> None:
    op.drop_index("ix_purchase_refunds_customer_refunded", table_name="purchase_refunds")
    op.drop_index("ix_purchase_refunds_purchase", table_name="purchase_refunds")
    op.drop_table("purchase_refunds")
