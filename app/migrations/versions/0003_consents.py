"""Consent receipts and the signed changes (grant, narrow, revoke) relayed for them.

Revision ID: 0003_consents
Revises: 0002_auth
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_consents"
down_revision = "0002_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_receipts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("customer_address", sa.String(42), nullable=False),
        sa.Column("brand_address", sa.String(42), nullable=False),
        sa.Column("purpose", sa.Integer(), nullable=False),
        sa.Column("categories", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("notice_version", sa.String(100), nullable=False),
        sa.Column("notice_hash", sa.String(66), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("receipt_hash", sa.String(66), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("grant_tx_hash", sa.String(66)),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawal_tx_hash", sa.String(66)),
    )
    op.create_index("ix_consent_receipts_customer_id", "consent_receipts", ["customer_id"])
    op.create_index("ix_consent_receipts_brand_id", "consent_receipts", ["brand_id"])
    op.create_index("ix_consent_receipts_receipt_hash", "consent_receipts", ["receipt_hash"])
    op.create_table(
        "consent_changes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("receipt_id", sa.String(36), sa.ForeignKey("consent_receipts.id")),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("purpose", sa.Integer(), nullable=False),
        sa.Column("categories", sa.BigInteger()),
        sa.Column("expires_at", sa.BigInteger()),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("typed_data", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("relayed_at", sa.DateTime(timezone=True)),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("block_number", sa.BigInteger()),
    )
    op.create_index("ix_consent_changes_customer_id", "consent_changes", ["customer_id"])
    op.create_index("ix_consent_changes_receipt_id", "consent_changes", ["receipt_id"])


def downgrade() -> None:
    op.drop_table("consent_changes")
    op.drop_table("consent_receipts")
