"""The Golden Diamond volunteer's declaration of no criminal conviction on its grant

Only the day of the declaration is kept, never a record (PDPA §6).

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("award_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("declared_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("award_grant", schema=None) as batch_op:
        batch_op.drop_column("declared_on")
