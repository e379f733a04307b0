"""mirror tables (filled in by the part that owns them).

Revision ID: 0005_mirror
Revises: 0004_purchases
"""

revision = "0005_mirror"
down_revision = "0004_purchases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
