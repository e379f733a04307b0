"""purchases tables (filled in by the part that owns them).

Revision ID: 0004_purchases
Revises: 0003_consents
"""

revision = "0004_purchases"
down_revision = "0003_consents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
