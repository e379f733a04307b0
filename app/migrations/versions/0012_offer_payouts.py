"""Monetary offers through the epochs: lines and per-account bonuses; an offer can be ended early.

Revision ID: 0012_offer_payouts
Revises: 0011_crm
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_offer_payouts"
down_revision = "0011_crm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "epoch_offer_lines",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.BigInteger(), nullable=False),
        sa.Column("purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("owed", sa.String(78), nullable=False),
        sa.Column("paid", sa.String(78), nullable=False),
        sa.PrimaryKeyConstraint("epoch", "offer_id", "purchase_id"),
    )
    with op.batch_alter_table("epoch_offer_lines", schema=None) as batch_op:
        batch_op.create_index("ix_epoch_offer_lines_offer", ["offer_id", "epoch"], unique=False)
    op.create_table(
        "epoch_offer_rewards",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("brand", sa.String(42), nullable=False),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.PrimaryKeyConstraint("epoch", "account", "brand"),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
    op.drop_table("epoch_offer_rewards")
    with op.batch_alter_table("epoch_offer_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_epoch_offer_lines_offer")
    op.drop_table("epoch_offer_lines")
