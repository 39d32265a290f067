"""Whether earlier units' hours were served in Taipei; the Golden Diamond volunteer's years
count only service in Taipei

rules.md: 金鑽獎 優良志工 needs "≥ 3 years in Taipei". Service years came from training dates,
wherever the volunteer served. prior_hours.in_taipei says whether an earlier unit's period was
served in Taipei (NULL: not said, for the entries already there); the Golden Diamond rule's
thresholds say its years count only service in Taipei (this unit's, and those periods).

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

award_rule = sa.table("award_rule", sa.column("key", sa.String), sa.column("thresholds", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("prior_hours", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_taipei", sa.Boolean(), nullable=True))
    op.execute(award_rule.update().where(award_rule.c.key == "golden_diamond",
                                         award_rule.c.thresholds.is_(None))
               .values(thresholds={"years_in_taipei_only": True}))


def downgrade() -> None:
    op.execute(award_rule.update().where(award_rule.c.key == "golden_diamond")
               .values(thresholds=sa.null()))
    with op.batch_alter_table("prior_hours", schema=None) as batch_op:
        batch_op.drop_column("in_taipei")
