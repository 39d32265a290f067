"""Recognition: performance certificates, milestones and award filing (issue #6, part 1)

Revision ID: 0007
Revises: 0006
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the work on this part (may stay empty)


def downgrade() -> None:
    pass
