"""Award rules carry their other numbers as data (award_rule.thresholds)

The Golden Diamond team's age, members, insured and record-book shares and member window, and
the family's members and each member's hours and months, were constants in the code. They
become the rules' data with these defaults (rules.md, 2018 call). The two rules' notes said
"Not computed here", which stopped being true when their pages came: a note still saying it
is replaced (a note the admin changed is left alone).

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

TEAM = {"team_months": 36, "min_members": 15, "insured_percent": 100,
        "record_book_percent": 80, "member_window_months": 12}
FAMILY = {"min_members": 2, "member_minutes": 36000, "member_months": 36}
NOTES = {
    "golden_diamond_team": (
        "Not computed here: team at least 3 years old, at least 15 members, all insured, at "
        "least 80% hold a record book.",
        "Judged per site on the Golden Diamond team page, with this rule's thresholds."),
    "golden_diamond_family": (
        "Not computed here: at least 2 related volunteers, each at least 3 years and 600 hours.",
        "Judged per family on the Golden Diamond family page: the admin groups related "
        "volunteers; each member's hours and service years count as for the Golden Diamond "
        "volunteer, against this rule's thresholds."),
}

award_rule = sa.table("award_rule", sa.column("key", sa.String), sa.column("note", sa.String),
                      sa.column("thresholds", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("award_rule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thresholds", sa.JSON(), nullable=True))
    for key, values in (("golden_diamond_team", TEAM), ("golden_diamond_family", FAMILY)):
        op.execute(award_rule.update().where(award_rule.c.key == key)
                   .values(thresholds=values))
        old, new = NOTES[key]
        op.execute(award_rule.update().where(award_rule.c.key == key, award_rule.c.note == old)
                   .values(note=new))


def downgrade() -> None:
    for key, (old, new) in NOTES.items():
        op.execute(award_rule.update().where(award_rule.c.key == key, award_rule.c.note == new)
                   .values(note=old))
    with op.batch_alter_table("award_rule", schema=None) as batch_op:
        batch_op.drop_column("thresholds")
