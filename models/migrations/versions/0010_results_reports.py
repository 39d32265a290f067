"""Half-year and yearly results reports, snapshots, persons served (issue #7, part 2)

Revision ID: 0010
Revises: 0009
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved: filled in by the work on this part (may stay empty)


def downgrade() -> None:
    pass
