"""Recognition: performance certificates, milestones and award filing (issue #6, part 1)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'requested'")


def upgrade() -> None:
    op.create_table(
        "performance_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("requested", "issued", name="certificatestatus",
                                    native_enum=False, length=20), nullable=False),
        sa.Column("requested_at", models.base.UTCDateTime(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("serial", sa.String(length=40), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("issued_at", models.base.UTCDateTime(), nullable=True),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("printed", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user_account.id"],
                                name=op.f("fk_performance_certificate_issued_by_id_user_account")),
        sa.ForeignKeyConstraint(["requested_by_id"], ["user_account.id"],
                                name=op.f("fk_performance_certificate_requested_by_id_user_account")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"],
                                name=op.f("fk_performance_certificate_unit_id_unit")),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteer.id"],
                                name=op.f("fk_performance_certificate_volunteer_id_volunteer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_performance_certificate")),
        sa.UniqueConstraint("serial", name=op.f("uq_performance_certificate_serial")),
        sa.UniqueConstraint("unit_id", "year", "seq",
                            name=op.f("uq_performance_certificate_unit_id")),
    )
    with op.batch_alter_table("performance_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_performance_certificate_unit_id"), ["unit_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_performance_certificate_volunteer_id"),
                              ["volunteer_id"], unique=False)
        batch_op.create_index("uq_performance_certificate_open", ["volunteer_id"], unique=True,
                              sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table(
        "award_family",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_award_family_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_award_family_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_family")),
    )
    with op.batch_alter_table("award_family", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_award_family_unit_id"), ["unit_id"], unique=False)
    op.create_table(
        "award_family_member",
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["family_id"], ["award_family.id"],
                                name=op.f("fk_award_family_member_family_id_award_family")),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteer.id"],
                                name=op.f("fk_award_family_member_volunteer_id_volunteer")),
        sa.PrimaryKeyConstraint("family_id", "volunteer_id", name=op.f("pk_award_family_member")),
        sa.UniqueConstraint("volunteer_id", name=op.f("uq_award_family_member_volunteer_id")),
    )


def downgrade() -> None:
    op.drop_table("award_family_member")
    with op.batch_alter_table("award_family", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_award_family_unit_id"))
    op.drop_table("award_family")
    with op.batch_alter_table("performance_certificate", schema=None) as batch_op:
        batch_op.drop_index("uq_performance_certificate_open", sqlite_where=OPEN,
                            postgresql_where=OPEN)
        batch_op.drop_index(batch_op.f("ix_performance_certificate_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_performance_certificate_unit_id"))
    op.drop_table("performance_certificate")
