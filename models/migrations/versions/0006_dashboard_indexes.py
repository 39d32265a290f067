"""Partial indexes for the dashboard at scale: who is on site now, the verification queue

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN = sa.text("checked_out_at IS NULL")
QUEUED = sa.text("status IN ('closed', 'needs_review')")


def upgrade() -> None:
    op.create_index("ix_service_session_open", "service_session", ["unit_id", "site_id", "checked_in_at"],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_service_session_queue", "service_session", ["unit_id", "checked_in_at", "id"],
                    sqlite_where=QUEUED, postgresql_where=QUEUED)


def downgrade() -> None:
    op.drop_index("ix_service_session_queue", table_name="service_session")
    op.drop_index("ix_service_session_open", table_name="service_session")
