"""The hardened contracts (issue 10): skipped accesses, reserves and funding, vetoed and finalised
roots, per-brand debits split into reserve and budget, signing times; signed requests (invalidations,
brands' access limits); epochs' challenge windows and brands' shortfalls carried to the next epoch.

Revision ID: 0009_hardened_contracts
Revises: 0008_consent_relays
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_hardened_contracts"
down_revision = "0008_consent_relays"
branch_labels = None
depends_on = None

AWARE = sa.DateTime(timezone=True)
_UNIQUE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _uint(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(78), nullable=nullable)


def _log_ref() -> list[sa.Column]:
    return [
        sa.Column("block_number", sa.BigInteger(), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_time", AWARE, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "mirror_skipped_accesses",
        sa.Column("block_number", sa.BigInteger(), primary_key=True),
        sa.Column("log_index", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_time", AWARE, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("brand", sa.String(42), nullable=False),
        sa.Column("purpose", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(66), nullable=False),
        sa.Column("customer", sa.String(42), nullable=False),
        sa.Column("reason", sa.Integer(), nullable=False),
    )
    for column in ("tx_hash", "brand", "request_id", "customer"):
        op.create_index(f"ix_mirror_skipped_accesses_{column}", "mirror_skipped_accesses", [column])

    op.create_table(
        "mirror_epoch_outcomes",
        *_log_ref(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.String(66), nullable=False),
        _uint("total", nullable=True),
        sa.Column("auditor", sa.String(42)),
    )
    op.create_index("ix_mirror_epoch_outcomes_tx_hash", "mirror_epoch_outcomes", ["tx_hash"])
    op.create_index("ix_mirror_epoch_outcomes_epoch", "mirror_epoch_outcomes", ["epoch"])

    with op.batch_alter_table("mirror_consent_events") as batch:
        batch.add_column(sa.Column("signed_at", sa.BigInteger()))
    with op.batch_alter_table("mirror_budget_events") as batch:
        batch.alter_column("counterparty", existing_type=sa.String(42), nullable=True)
        batch.add_column(_uint("reserved", nullable=True))
        batch.add_column(sa.Column("reference", sa.String(66)))
    # A vetoed epoch number is published again: the number is no longer unique. 0005 left the
    # constraint unnamed: SQLite's batch mode names it by this convention, PostgreSQL named it itself.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("mirror_epochs", naming_convention=_UNIQUE_NAMES) as batch:
        batch.drop_constraint("uq_mirror_epochs_epoch" if sqlite else "mirror_epochs_epoch_key", type_="unique")
        batch.add_column(sa.Column("finalises_at", sa.BigInteger()))
        batch.create_index("ix_mirror_epochs_epoch", ["epoch"])
    with op.batch_alter_table("mirror_epoch_debits") as batch:
        batch.add_column(_uint("from_reserve", nullable=True))
        batch.add_column(_uint("from_budget", nullable=True))

    with op.batch_alter_table("access_requests") as batch:
        batch.add_column(sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("epochs") as batch:
        batch.add_column(sa.Column("finalises_at", AWARE))
        batch.add_column(sa.Column("vetoes", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "epoch_shortfalls",
        sa.Column("epoch", sa.BigInteger(), primary_key=True),
        sa.Column("brand", sa.String(42), primary_key=True),
        _uint("owed"),
        _uint("available"),
        _uint("carried"),
    )
    op.create_table(
        "epoch_carries",
        sa.Column("epoch", sa.BigInteger(), primary_key=True),
        sa.Column("account", sa.String(42), primary_key=True),
        sa.Column("brand", sa.String(42), primary_key=True),
        _uint("amount"),
    )
    op.create_table(
        "signed_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("signer", sa.String(42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("typed_data", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("relayed_at", AWARE),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("block_number", sa.BigInteger()),
    )
    op.create_index("ix_signed_requests_signer", "signed_requests", ["signer"])


def downgrade() -> None:
    op.drop_table("signed_requests")
    op.drop_table("epoch_carries")
    op.drop_table("epoch_shortfalls")
    with op.batch_alter_table("epochs") as batch:
        batch.drop_column("vetoes")
        batch.drop_column("finalises_at")
    with op.batch_alter_table("access_requests") as batch:
        batch.drop_column("skipped")
    with op.batch_alter_table("mirror_epoch_debits") as batch:
        batch.drop_column("from_budget")
        batch.drop_column("from_reserve")
    with op.batch_alter_table("mirror_epochs") as batch:
        batch.drop_index("ix_mirror_epochs_epoch")
        batch.drop_column("finalises_at")
        batch.create_unique_constraint("uq_mirror_epochs_epoch", ["epoch"])
    with op.batch_alter_table("mirror_budget_events") as batch:
        batch.drop_column("reference")
        batch.drop_column("reserved")
        batch.alter_column("counterparty", existing_type=sa.String(42), nullable=False)
    with op.batch_alter_table("mirror_consent_events") as batch:
        batch.drop_column("signed_at")
    op.drop_index("ix_mirror_epoch_outcomes_epoch", "mirror_epoch_outcomes")
    op.drop_index("ix_mirror_epoch_outcomes_tx_hash", "mirror_epoch_outcomes")
    op.drop_table("mirror_epoch_outcomes")
    for column in ("tx_hash", "brand", "request_id", "customer"):
        op.drop_index(f"ix_mirror_skipped_accesses_{column}", "mirror_skipped_accesses")
    op.drop_table("mirror_skipped_accesses")
