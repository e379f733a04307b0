"""Automatic claims: opt-ins, the relayer's claimMany batches and their per-(epoch, account) lines.

Revision ID: 0013_auto_claims
Revises: 0012_offer_payouts
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_auto_claims"
down_revision = "0012_offer_payouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auto_claims",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "claim_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("accounts", sa.String(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash"),
    )
    op.create_table(
        "claim_lines",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.String(78), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["claim_batches.id"]),
        sa.PrimaryKeyConstraint("epoch", "account"),
    )
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.create_index("ix_claim_lines_batch", ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claim_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_lines_batch")
    op.drop_table("claim_lines")
    op.drop_table("claim_batches")
    op.drop_table("auto_claims")
