"""A partial index for counting the unflagged sessions awaiting verification (bulk approve)

Revision ID: 0012
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

UNFLAGGED = sa.text("status = 'closed' AND flags = ''")


def upgrade() -> None:
    op.create_index("ix_service_session_unflagged", "service_session",
                    ["unit_id", "site_id", "checked_in_at"],
                    sqlite_where=UNFLAGGED, postgresql_where=UNFLAGGED)


def downgrade() -> None:
    op.drop_index("ix_service_session_unflagged", table_name="service_session")
