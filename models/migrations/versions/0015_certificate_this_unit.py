"""Award rules that count only the unit's own service (the performance certificate)

The unit certifies service done with it: its verified hours (not earlier units' record-book
hours) and the time since the volunteer joined it.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
NOTE = ("The unit issues it within 7 days of the request; suggest it when a volunteer leaves. "
        "It certifies service with this unit: its verified hours and the time since the "
        "volunteer joined it.")


def upgrade() -> None:
    with op.batch_alter_table("award_rule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("this_unit_only", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute(sa.text("UPDATE award_rule SET this_unit_only = :yes, note = :note "
                       "WHERE key = 'performance_certificate'").bindparams(yes=True, note=NOTE))


def downgrade() -> None:
    with op.batch_alter_table("award_rule", schema=None) as batch_op:
        batch_op.drop_column("this_unit_only")
