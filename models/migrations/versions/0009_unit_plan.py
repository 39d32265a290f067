"""Unit profile and the yearly service plan with its filing record (issue #7, part 1)

unit_profile: responsible person, contacts, seal/logo file (one row per unit; the basic columns
stay on unit). service_plan (unit, year) -> service_plan_version (the seven sections and the
filing record of each version) -> service_plan_item (service items picked, with text) and
service_plan_document (filed documents, stored files).

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_service_plan_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_plan')),
    sa.UniqueConstraint('unit_id', 'year', name=op.f('uq_service_plan_unit_id'))
    )
    op.create_index(op.f('ix_service_plan_unit_id'), 'service_plan', ['unit_id'], unique=False)
    op.create_table('service_plan_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'approved', 'returned', name='planstatus', native_enum=False, length=20), nullable=False),
    sa.Column('recruitment', sa.Text(), nullable=False),
    sa.Column('training', sa.Text(), nullable=False),
    sa.Column('management', sa.Text(), nullable=False),
    sa.Column('deployment', sa.Text(), nullable=False),
    sa.Column('guidance', sa.Text(), nullable=False),
    sa.Column('evaluation', sa.Text(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('reference_no', sa.String(length=60), nullable=False),
    sa.Column('return_reason', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_service_plan_version_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['plan_id'], ['service_plan.id'], name=op.f('fk_service_plan_version_plan_id_service_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_plan_version')),
    sa.UniqueConstraint('plan_id', 'number', name=op.f('uq_service_plan_version_plan_id'))
    )
    op.create_index(op.f('ix_service_plan_version_plan_id'), 'service_plan_version', ['plan_id'], unique=False)
    op.create_table('service_plan_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'], name=op.f('fk_service_plan_document_added_by_id_user_account')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_file.id'], name=op.f('fk_service_plan_document_file_id_stored_file')),
    sa.ForeignKeyConstraint(['version_id'], ['service_plan_version.id'], name=op.f('fk_service_plan_document_version_id_service_plan_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_plan_document'))
    )
    op.create_index(op.f('ix_service_plan_document_version_id'), 'service_plan_document', ['version_id'], unique=False)
    op.create_table('service_plan_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('service_item_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['service_item_id'], ['service_item.id'], name=op.f('fk_service_plan_item_service_item_id_service_item')),
    sa.ForeignKeyConstraint(['version_id'], ['service_plan_version.id'], name=op.f('fk_service_plan_item_version_id_service_plan_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_plan_item')),
    sa.UniqueConstraint('version_id', 'service_item_id', name=op.f('uq_service_plan_item_version_id'))
    )
    op.create_index(op.f('ix_service_plan_item_version_id'), 'service_plan_item', ['version_id'], unique=False)
    op.create_table('unit_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('responsible_person', sa.String(length=60), nullable=False),
    sa.Column('contact_name', sa.String(length=60), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('logo_file_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['logo_file_id'], ['stored_file.id'], name=op.f('fk_unit_profile_logo_file_id_stored_file')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_unit_profile_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_profile')),
    sa.UniqueConstraint('unit_id', name=op.f('uq_unit_profile_unit_id'))
    )


def downgrade() -> None:
    op.drop_table("unit_profile")
    op.drop_index(op.f("ix_service_plan_item_version_id"), table_name="service_plan_item")
    op.drop_table("service_plan_item")
    op.drop_index(op.f("ix_service_plan_document_version_id"), table_name="service_plan_document")
    op.drop_table("service_plan_document")
    op.drop_index(op.f("ix_service_plan_version_plan_id"), table_name="service_plan_version")
    op.drop_table("service_plan_version")
    op.drop_index(op.f("ix_service_plan_unit_id"), table_name="service_plan")
    op.drop_table("service_plan")
