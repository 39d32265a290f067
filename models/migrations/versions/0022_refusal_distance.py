"""The distance a check-in refused as too far was judged at, on its refused event

A phone check-in refused as outside the site's radius told the volunteer how far they were, but
the refusal log kept only the reason: staff could not see it, nor compare it with a check-in
made moments later without the phone's position (flag refused_far_before).
checkin_event.distance_m keeps the distance in whole metres for such refusals; NULL for every
other event, and for those logged before.

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("distance_m", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkin_event", schema=None) as batch_op:
        batch_op.drop_column("distance_m")
