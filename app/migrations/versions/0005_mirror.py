"""Mirror tables written by the indexer from chain events, and the indexer's cursor.

Unsigned chain integers (uint64 / uint96 / uint256) are VARCHAR(78) decimal strings: exact on
SQLite and PostgreSQL (see app/models/mirror.py).

Revision ID: 0005_mirror
Revises: 0004_purchases
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_mirror"
down_revision = "0004_purchases"
branch_labels = None
depends_on = None


def _uint(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(78), nullable=nullable)


def _addr(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(42), nullable=nullable)


def _hash(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(66), nullable=nullable)


def _log_ref() -> list[sa.Column]:
    return [
        sa.Column("block_number", sa.BigInteger(), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        _hash("block_hash"),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        _hash("tx_hash"),
    ]


def _index(table: str, *columns: str) -> None:
    for column in columns:
        op.create_index(f"ix_{table}_{column}", table, [column])


def upgrade() -> None:
    op.create_table(
        "mirror_brand_events",
        *_log_ref(),
        sa.Column("kind", sa.String(16), nullable=False),
        _addr("brand"),
    )
    _index("mirror_brand_events", "tx_hash", "brand")

    op.create_table(
        "mirror_brands",
        sa.Column("brand", sa.String(42), primary_key=True),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("first_registered_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
    )

    op.create_table(
        "mirror_consent_events",
        *_log_ref(),
        sa.Column("kind", sa.String(16), nullable=False),
        _addr("customer"),
        _addr("brand"),
        sa.Column("purpose", sa.Integer(), nullable=False),
        _uint("categories", nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        _uint("price", nullable=True),
        _hash("receipt_hash", nullable=True),
        _hash("notice_hash", nullable=True),
        _uint("nonce"),
    )
    _index("mirror_consent_events", "tx_hash", "customer", "brand")

    op.create_table(
        "mirror_consents",
        sa.Column("customer", sa.String(42), primary_key=True),
        sa.Column("brand", sa.String(42), primary_key=True),
        sa.Column("purpose", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        _uint("categories"),
        sa.Column("granted_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        _uint("price"),
        _hash("receipt_hash"),
        _hash("notice_hash"),
        _uint("nonce"),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
        _hash("updated_tx_hash"),
    )
    _index("mirror_consents", "brand")

    op.create_table(
        "mirror_accesses",
        sa.Column("block_number", sa.BigInteger(), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        _hash("block_hash"),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        _hash("tx_hash"),
        _addr("brand"),
        sa.Column("purpose", sa.Integer(), nullable=False),
        _hash("request_id"),
        _uint("categories"),
        _addr("customer"),
        _uint("price"),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        _uint("batch_total"),
    )
    _index("mirror_accesses", "tx_hash", "brand", "request_id", "customer")

    op.create_table(
        "mirror_budget_events",
        *_log_ref(),
        sa.Column("kind", sa.String(16), nullable=False),
        _addr("brand"),
        _addr("counterparty"),
        _uint("amount"),
    )
    _index("mirror_budget_events", "tx_hash", "brand")

    op.create_table(
        "mirror_epochs",
        *_log_ref(),
        sa.Column("epoch", sa.BigInteger(), nullable=False, unique=True),
        _hash("root"),
        _hash("commitment"),
        _uint("total"),
    )
    _index("mirror_epochs", "tx_hash")

    op.create_table(
        "mirror_epoch_debits",
        sa.Column("block_number", sa.BigInteger(), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        _addr("brand"),
        _uint("amount"),
    )
    _index("mirror_epoch_debits", "epoch", "brand")

    op.create_table(
        "mirror_claims",
        *_log_ref(),
        _addr("account"),
        _uint("amount"),
        _uint("cumulative_amount"),
    )
    _index("mirror_claims", "tx_hash", "account")

    op.create_table(
        "mirror_transfers",
        *_log_ref(),
        _addr("from_address"),
        _addr("to_address"),
        _uint("amount"),
    )
    _index("mirror_transfers", "tx_hash", "from_address", "to_address")

    op.create_table(
        "indexer_cursor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        _hash("genesis_hash"),
        _addr("token_address"),
        _addr("registry_address"),
        _addr("distributor_address"),
        sa.Column("deployment_block", sa.BigInteger(), nullable=False),
        _hash("deployment_block_hash"),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        _hash("last_block_hash"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "indexer_cursor",
        "mirror_transfers",
        "mirror_claims",
        "mirror_epoch_debits",
        "mirror_epochs",
        "mirror_budget_events",
        "mirror_accesses",
        "mirror_consents",
        "mirror_consent_events",
        "mirror_brands",
        "mirror_brand_events",
    ):
        op.drop_table(table)
