"""Half-year and yearly results reports, snapshots, persons served (issue #7, part 2)

The filed reports' snapshots (report_snapshot). ServiceSession.persons_served already exists
(0001): nothing to add for it.

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("filed_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["filed_by_id"], ["user_account.id"],
                                name=op.f("fk_report_snapshot_filed_by_id_user_account")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"],
                                name=op.f("fk_report_snapshot_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshot")),
        sa.UniqueConstraint("unit_id", "period", "revision",
                            name="uq_report_snapshot_unit_period_revision"),
    )
    with op.batch_alter_table("report_snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_snapshot_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("report_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_snapshot_unit_id"))
    op.drop_table("report_snapshot")
