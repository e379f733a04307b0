"""Consent relays: the customer's signature, the signed relay transaction and the failure reason kept on each change.

Revision ID: 0008_consent_relays
Revises: 0007_brand_access
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_consent_relays"
down_revision = "0007_brand_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_changes") as table:
        table.add_column(sa.Column("relay_tx", sa.Text()))
        table.add_column(sa.Column("signature", sa.Text()))
        table.add_column(sa.Column("failure", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("consent_changes") as table:
        table.drop_column("failure")
        table.drop_column("signature")
        table.drop_column("relay_tx")
