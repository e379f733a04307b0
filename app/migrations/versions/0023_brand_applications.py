"""Brand self-service: applications signed up with a wallet, and each brand's data prices' floor.

Revision ID: 0023_brand_applications
Revises: 0022_payments
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_brand_applications"
down_revision = "0022_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brand_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("brand_id", sa.Integer(), nullable=True),
        sa.Column("key_collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("brand_applications", schema=None) as batch_op:
        batch_op.create_index("ix_brand_applications_address", ["address"], unique=False)
    op.create_table(
        "brand_price_floors",
        sa.Column("brand_id", sa.Integer(), nullable=False),
        sa.Column("floor", sa.String(78), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"]),
        sa.PrimaryKeyConstraint("brand_id"),
    )


def downgrade() -> None:
    op.drop_table("brand_price_floors")
    with op.batch_alter_table("brand_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_brand_applications_address")
    op.drop_table("brand_applications")
