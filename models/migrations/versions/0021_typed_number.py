"""The volunteer number typed at a kiosk's keypad that matched nobody, on its refused event

An offline kiosk event whose number names no volunteer was logged as refused with no volunteer:
the dashboard's refusal log showed "—", and staff could not tell who it may have been (a
mistyped number of someone they know). checkin_event.typed_number keeps the typed number (never
the PIN) for such events; the audit entry of the refusal already held it. NULL for every other
event, and for those logged before.

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("typed_number", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkin_event", schema=None) as batch_op:
        batch_op.drop_column("typed_number")
