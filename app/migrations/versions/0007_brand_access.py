"""Brand access: profile requests and their link to the on-chain AccessRecorded batches.

Revision ID: 0007_brand_access
Revises: 0006_epochs
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_brand_access"
down_revision = "0006_epochs"
branch_labels = None
depends_on = None

AWARE = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("brand_id", sa.Integer(), sa.ForeignKey("brands.id"), nullable=False),
        sa.Column("purpose", sa.Integer(), nullable=False),
        sa.Column("categories", sa.BigInteger(), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("requested_limit", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("cost", sa.String(78), nullable=False),
        sa.Column("request_id", sa.String(66), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("block_number", sa.BigInteger()),
        sa.Column("gas_used", sa.BigInteger()),
        sa.Column("created_at", AWARE, nullable=False),
        sa.Column("recorded_at", AWARE),
        sa.Column("delivered_at", AWARE),
    )
    op.create_index("ix_access_requests_brand_created", "access_requests", ["brand_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_access_requests_brand_created", table_name="access_requests")
    op.drop_table("access_requests")
