"""Paid upkeep of one's own profile: upkeep events, the customers' value-hash keys, the epochs' upkeep lines.

Revision ID: 0014_upkeep
Revises: 0013_auto_claims
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_upkeep"
down_revision = "0013_auto_claims"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upkeep_keys",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "upkeep_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value_hash", sa.String(66), nullable=False),
        sa.Column("reminder_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("upkeep_events", schema=None) as batch_op:
        batch_op.create_index("ix_upkeep_events_customer_field", ["customer_id", "field", "at"], unique=False)
    op.create_table(
        "epoch_upkeep_lines",
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("paid", sa.String(78), nullable=False),
        sa.PrimaryKeyConstraint("epoch", "event_id"),
    )


def downgrade() -> None:
    op.drop_table("epoch_upkeep_lines")
    with op.batch_alter_table("upkeep_events", schema=None) as batch_op:
        batch_op.drop_index("ix_upkeep_events_customer_field")
    op.drop_table("upkeep_events")
    op.drop_table("upkeep_keys")
