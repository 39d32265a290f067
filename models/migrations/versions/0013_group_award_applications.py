"""Golden Diamond family and team applications (models.group_awards)

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_award_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("applied", "granted", "not_granted", name="grantstatus",
                                    native_enum=False, length=20), nullable=False),
        sa.Column("applied_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("(family_id IS NULL) <> (site_id IS NULL)",
                           name=op.f("ck_group_award_application_one_subject")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_group_award_application_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["family_id"], ["award_family.id"],
                                name=op.f("fk_group_award_application_family_id_award_family")),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"],
                                name=op.f("fk_group_award_application_site_id_site")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"],
                                name=op.f("fk_group_award_application_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_award_application")),
        sa.UniqueConstraint("family_id", "year", name=op.f("uq_group_award_application_family_id")),
        sa.UniqueConstraint("site_id", "year", name=op.f("uq_group_award_application_site_id")),
    )
    with op.batch_alter_table("group_award_application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_award_application_unit_id"), ["unit_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("group_award_application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_award_application_unit_id"))
    op.drop_table("group_award_application")
