"""Unit profile and the yearly service plan with its filing record (issue #7, part 1)

Revision ID: 0009
Revises: 0008
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the work on this part (may stay empty)


def downgrade() -> None:
    pass
