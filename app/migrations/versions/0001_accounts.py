"""Customers and brands.

Revision ID: 0001_accounts
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_accounts"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(40)),
        sa.Column("birth_year", sa.Integer()),
        sa.Column("gender", sa.String(20)),
        sa.Column("region", sa.String(100)),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_customers_address", "customers", ["address"], unique=True)
    op.create_table(
        "brands",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_brands_address", "brands", ["address"], unique=True)


def downgrade() -> None:
    op.drop_table("brands")
    op.drop_table("customers")
