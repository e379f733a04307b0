"""Spending CASH: the mirror of PaymentRouter's Paid events, payment quotes and brands' reward catalogues.

Revision ID: 0022_payments
Revises: 0020_refunds
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_payments"
down_revision = "0020_refunds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("block_number", sa.BigInteger(), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("payer", sa.String(42), nullable=False),
        sa.Column("brand", sa.String(42), nullable=False),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.Column("reference", sa.String(66), nullable=False),
    )
    for column in ("tx_hash", "payer", "brand", "reference"):
        op.create_index(f"ix_payments_{column}", "payments", [column])
    op.create_table(
        "rewards_catalogue",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("price", sa.String(78), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rewards_catalogue_brand_id", "rewards_catalogue", ["brand_id"])
    op.create_table(
        "payment_quotes",
        sa.Column("reference", sa.String(66), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("payer", sa.String(42), nullable=False),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.Column("nonce", sa.String(78), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("purchase_external_id", sa.String(100), nullable=True),
        sa.Column("catalogue_item_id", sa.Integer(), sa.ForeignKey("rewards_catalogue.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_payment_quotes_customer_id", "payment_quotes", ["customer_id"])
    op.create_index("ix_payment_quotes_brand_id", "payment_quotes", ["brand_id"])


def downgrade() -> None:
    op.drop_index("ix_payment_quotes_brand_id", "payment_quotes")
    op.drop_index("ix_payment_quotes_customer_id", "payment_quotes")
    op.drop_table("payment_quotes")
    op.drop_index("ix_rewards_catalogue_brand_id", "rewards_catalogue")
    op.drop_table("rewards_catalogue")
    for column in ("tx_hash", "payer", "brand", "reference"):
        op.drop_index(f"ix_payments_{column}", "payments")
    op.drop_table("payments")
