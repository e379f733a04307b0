"""Epochs: settlement state, RFM scores and cut points, behaviour changes, rewards, brand debits.

Revision ID: 0006_epochs
Revises: 0005_mirror
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_epochs"
down_revision = "0005_mirror"
branch_labels = None
depends_on = None

AWARE = sa.DateTime(timezone=True)
UINT = sa.String(78)


def upgrade() -> None:
    op.create_table(
        "epochs",
        sa.Column("number", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("as_of", AWARE, nullable=False),
        sa.Column("period_start", AWARE),
        sa.Column("max_purchase_id", sa.BigInteger(), nullable=False),
        sa.Column("from_block", sa.BigInteger(), nullable=False),
        sa.Column("to_block", sa.BigInteger(), nullable=False),
        sa.Column("scheme", sa.String(16), nullable=False),
        sa.Column("rules_hash", sa.String(66), nullable=False),
        sa.Column("manifest", sa.Text()),
        sa.Column("commitment", sa.String(66)),
        sa.Column("root", sa.String(66)),
        sa.Column("total", UINT),
        sa.Column("accounts", sa.BigInteger()),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("block_number", sa.BigInteger()),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("computed_at", AWARE),
        sa.Column("published_at", AWARE),
        sa.Column("completed_at", AWARE),
    )
    op.create_table(
        "epoch_scores",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_total", sa.BigInteger(), nullable=False),
        sa.Column("monetary_avg", sa.BigInteger(), nullable=False),
        sa.Column("r", sa.Integer(), nullable=False),
        sa.Column("f", sa.Integer(), nullable=False),
        sa.Column("m", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(40), nullable=False),
        sa.Column("tier", sa.String(40), nullable=False),
        sa.Column("cashback_bps", sa.Integer(), nullable=False),
    )
    op.create_index("ix_epoch_scores_customer", "epoch_scores", ["customer_id", "epoch"])
    op.create_table(
        "epoch_cut_points",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("measure", sa.String(20), primary_key=True),
        sa.Column("score", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("lower_bound", sa.BigInteger(), nullable=False),
        sa.Column("upper_bound", sa.BigInteger(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "behaviour_changes",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(40), primary_key=True),
        sa.Column("threshold", sa.String(40), primary_key=True),
        sa.Column("previous", sa.String(40)),
        sa.Column("current", sa.String(40)),
    )
    op.create_table(
        "epoch_rewards",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("account", sa.String(42), primary_key=True),
        sa.Column("purchase_cashback", UINT, nullable=False),
        sa.Column("access_earnings", UINT, nullable=False),
        sa.Column("earned", UINT, nullable=False),
        sa.Column("cumulative", UINT, nullable=False),
    )
    op.create_index("ix_epoch_rewards_account", "epoch_rewards", ["account", "epoch"])
    op.create_table(
        "epoch_debits",
        sa.Column("epoch", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("brand", sa.String(42), primary_key=True),
        sa.Column("purchase_cashback", UINT, nullable=False),
        sa.Column("access_earnings", UINT, nullable=False),
        sa.Column("amount", UINT, nullable=False),
    )


def downgrade() -> None:
    for table in ("epoch_debits", "epoch_rewards", "behaviour_changes", "epoch_cut_points", "epoch_scores", "epochs"):
        op.drop_table(table)
