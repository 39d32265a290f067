"""Reminders by email: one per unit and day (models.reminder_mail)

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("sent_at", models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_reminder_mail_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_mail")),
        sa.UniqueConstraint("unit_id", "sent_on", name=op.f("uq_reminder_mail_unit_id")),
    )


def downgrade() -> None:
    op.drop_table("reminder_mail")
