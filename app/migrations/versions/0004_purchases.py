"""Purchases with their items, and interest events.

Revision ID: 0004_purchases
Revises: 0003_consents
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_purchases"
down_revision = "0003_consents"
branch_labels = None
depends_on = None

# Frozen copy of app.models.purchases.KIND_CHECK at this revision (migrations never import models).
KIND_CHECK = "kind IN ('view', 'touch', 'compare', 'wishlist', 'cart_add', 'cart_abandon')"


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("purchased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="KRW"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("brand_id", "external_id", name="uq_purchases_brand_external"),
        sa.CheckConstraint("amount >= 0", name="ck_purchases_amount"),
    )
    op.create_index("ix_purchases_customer_purchased", "purchases", ["customer_id", "purchased_at"])
    op.create_index("ix_purchases_brand_purchased", "purchases", ["brand_id", "purchased_at"])
    op.create_table(
        "purchase_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("purchase_id", sa.Integer(), sa.ForeignKey("purchases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("item_id", sa.String(100), nullable=False),
        sa.Column("category", sa.String(100)),
        sa.Column("style", sa.String(100)),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity >= 1", name="ck_purchase_items_quantity"),
        sa.CheckConstraint("unit_price >= 0", name="ck_purchase_items_unit_price"),
    )
    op.create_index("ix_purchase_items_purchase_id", "purchase_items", ["purchase_id"])
    op.create_table(
        "interest_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("item_id", sa.String(100)),
        sa.Column("category", sa.String(100)),
        sa.Column("style", sa.String(100)),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("brand_id", "external_id", name="uq_interest_events_brand_external"),
        sa.CheckConstraint(KIND_CHECK, name="ck_interest_events_kind"),
    )
    op.create_index("ix_interest_events_customer_occurred", "interest_events", ["customer_id", "occurred_at"])
    op.create_index("ix_interest_events_brand_occurred", "interest_events", ["brand_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("interest_events")
    op.drop_table("purchase_items")
    op.drop_table("purchases")
