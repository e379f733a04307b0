"""Reserved slot in the linear migration chain (kept empty so later revisions have a fixed parent).

Revision ID: 0007_reserved
Revises: 0006_epochs
"""

revision = "0007_reserved"
down_revision = "0006_epochs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
