"""Annual evaluation, exit and team view (issue #6, part 2): the year's criteria, evaluations
with their scores, and the history of exits and re-activations.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluation_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name_zh', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=160), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('scale_min', sa.Integer(), nullable=False),
    sa.Column('scale_max', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_evaluation_criterion_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_criterion')),
    sa.UniqueConstraint('unit_id', 'year', 'name_zh', name=op.f('uq_evaluation_criterion_unit_id'))
    )
    op.create_index(op.f('ix_evaluation_criterion_unit_id'), 'evaluation_criterion', ['unit_id'], unique=False)
    op.create_table('evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'final', name='evaluationstatus', native_enum=False, length=20), nullable=False),
    sa.Column('outcome', sa.Enum('continue_service', 'coaching', 'exit', name='evaluation_outcome', native_enum=False, length=20), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('coaching_plan', sa.Text(), nullable=False),
    sa.Column('exit_reason', sa.String(length=300), nullable=False),
    sa.Column('exit_on', sa.Date(), nullable=True),
    sa.Column('verified_minutes', sa.Integer(), nullable=False),
    sa.Column('shifts_attended', sa.Integer(), nullable=False),
    sa.Column('shifts_scheduled', sa.Integer(), nullable=False),
    sa.Column('training_minutes', sa.Integer(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('finalised_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['evaluator_id'], ['user_account.id'], name=op.f('fk_evaluation_evaluator_id_user_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_evaluation_unit_id_unit')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], name=op.f('fk_evaluation_volunteer_id_volunteer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation')),
    sa.UniqueConstraint('volunteer_id', 'year', name=op.f('uq_evaluation_volunteer_id'))
    )
    op.create_index('ix_evaluation_unit_year', 'evaluation', ['unit_id', 'year'], unique=False)
    op.create_table('evaluation_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['evaluation_criterion.id'], name=op.f('fk_evaluation_score_criterion_id_evaluation_criterion')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluation.id'], name=op.f('fk_evaluation_score_evaluation_id_evaluation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_score')),
    sa.UniqueConstraint('evaluation_id', 'criterion_id', name=op.f('uq_evaluation_score_evaluation_id'))
    )
    op.create_index(op.f('ix_evaluation_score_evaluation_id'), 'evaluation_score', ['evaluation_id'], unique=False)
    op.create_table('volunteer_status_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'inactive', name='volunteerstatus', native_enum=False, length=20), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=True),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['user_account.id'], name=op.f('fk_volunteer_status_change_actor_user_id_user_account')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluation.id'], name=op.f('fk_volunteer_status_change_evaluation_id_evaluation')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_volunteer_status_change_unit_id_unit')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], name=op.f('fk_volunteer_status_change_volunteer_id_volunteer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_status_change'))
    )
    op.create_index(op.f('ix_volunteer_status_change_unit_id'), 'volunteer_status_change', ['unit_id'], unique=False)
    op.create_index(op.f('ix_volunteer_status_change_volunteer_id'), 'volunteer_status_change', ['volunteer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_volunteer_status_change_volunteer_id'), table_name='volunteer_status_change')
    op.drop_index(op.f('ix_volunteer_status_change_unit_id'), table_name='volunteer_status_change')
    op.drop_table('volunteer_status_change')
    op.drop_index(op.f('ix_evaluation_score_evaluation_id'), table_name='evaluation_score')
    op.drop_table('evaluation_score')
    op.drop_index('ix_evaluation_unit_year', table_name='evaluation')
    op.drop_table('evaluation')
    op.drop_index(op.f('ix_evaluation_criterion_unit_id'), table_name='evaluation_criterion')
    op.drop_table('evaluation_criterion')
    
