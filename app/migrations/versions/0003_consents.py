"""consents tables (filled in by the part that owns them).

Revision ID: 0003_consents
Revises: 0002_auth
"""

revision = "0003_consents"
down_revision = "0002_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
