"""Performance certificates issued by earlier units (models.record_book.PriorCertificate)

The national volunteer service award needs a performance certificate (志願服務績效證明書); a
volunteer who brings one from another unit has it recorded here: issuing unit, date, number.

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prior_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("issuing_unit", sa.String(length=200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("certificate_no", sa.String(length=60), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["user_account.id"],
                                name=op.f("fk_prior_certificate_created_by_id_user_account")),
        sa.ForeignKeyConstraint(["volunteer_id"], ["volunteer.id"],
                                name=op.f("fk_prior_certificate_volunteer_id_volunteer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_certificate")),
    )
    with op.batch_alter_table("prior_certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prior_certificate_volunteer_id"), ["volunteer_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("prior_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prior_certificate_volunteer_id"))
    op.drop_table("prior_certificate")
