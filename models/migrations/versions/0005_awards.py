"""awards: rules as data, grants

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:43:34.909194
"""
from alembic import op
import sqlalchemy as sa
import models.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DEFAULT_RULES = [{'name_en': 'Volunteer service performance certificate',
  'months_required': 12,
  'window': 'as_of',
  'once_per_level': False,
  'consumes': False,
  'validity_years': None,
  'needs_performance_certificate': False,
  'needs_criminal_record_declaration': False,
  'computed': True,
  'filing_month': None,
  'filing_day': None,
  'note': 'The unit issues it within 7 days of the request; suggest it when a volunteer leaves.',
  'active': True,
  'key': 'performance_certificate',
  'name_zh': '志願服務績效證明書',
  'levels': [{'level': 1, 'name_zh': '績效證明書', 'name_en': 'Certificate', 'minutes': 9000}],
  'sort_order': 0},
 {'name_en': 'Volunteer honour card',
  'months_required': 36,
  'window': 'as_of',
  'once_per_level': False,
  'consumes': True,
  'validity_years': 3,
  'needs_performance_certificate': False,
  'needs_criminal_record_declaration': False,
  'computed': True,
  'filing_month': None,
  'filing_day': None,
  'note': "Valid 3 years from the later of approval and the previous card's expiry; hours and "
          'years used for one card are not reused.',
  'active': True,
  'key': 'honour_card',
  'name_zh': '志願服務榮譽卡',
  'levels': [{'level': 1, 'name_zh': '榮譽卡', 'name_en': 'Honour card', 'minutes': 18000}],
  'sort_order': 1},
 {'name_en': 'MOHW volunteer service award',
  'months_required': 0,
  'window': 'previous_dec31',
  'once_per_level': True,
  'consumes': False,
  'validity_years': None,
  'needs_performance_certificate': False,
  'needs_criminal_record_declaration': False,
  'computed': True,
  'filing_month': 3,
  'filing_day': 31,
  'note': 'One level per application; hours counted to the previous 31 December.',
  'active': True,
  'key': 'mohw',
  'name_zh': '衛生福利志願服務獎勵',
  'levels': [{'level': 1, 'name_zh': '銅質徽章', 'name_en': 'Bronze badge', 'minutes': 90000},
             {'level': 2, 'name_zh': '銀質徽章', 'name_en': 'Silver badge', 'minutes': 120000},
             {'level': 3, 'name_zh': '金質徽章', 'name_en': 'Gold badge', 'minutes': 150000}],
  'sort_order': 2},
 {'name_en': 'National volunteer service award',
  'months_required': 0,
  'window': 'may31',
  'once_per_level': True,
  'consumes': False,
  'validity_years': None,
  'needs_performance_certificate': True,
  'needs_criminal_record_declaration': False,
  'computed': True,
  'filing_month': 7,
  'filing_day': 31,
  'note': 'Needs a performance certificate; hours counted to 31 May of the year.',
  'active': True,
  'key': 'national',
  'name_zh': '志願服務獎勵',
  'levels': [{'level': 1, 'name_zh': '銅牌', 'name_en': 'Bronze', 'minutes': 180000},
             {'level': 2, 'name_zh': '銀牌', 'name_en': 'Silver', 'minutes': 300000},
             {'level': 3, 'name_zh': '金牌', 'name_en': 'Gold', 'minutes': 480000}],
  'sort_order': 3},
 {'name_en': 'Taipei volunteer contribution award',
  'months_required': 0,
  'window': 'as_of',
  'once_per_level': True,
  'consumes': False,
  'validity_years': None,
  'needs_performance_certificate': False,
  'needs_criminal_record_declaration': False,
  'computed': True,
  'filing_month': 5,
  'filing_day': 31,
  'note': 'Higher tiers unknown: add levels to the rule when known.',
  'active': True,
  'key': 'taipei_contribution',
  'name_zh': '臺北市志願服務貢獻獎',
  'levels': [{'level': 1, 'name_zh': '貢獻獎', 'name_en': 'Contribution award', 'minutes': 36000}],
  'sort_order': 4},
 {'name_en': 'Golden Diamond volunteer',
  'months_required': 36,
  'window': 'as_of',
  'once_per_level': True,
  'consumes': False,
  'validity_years': None,
  'needs_performance_certificate': False,
  'needs_criminal_record_declaration': True,
  'computed': True,
  'filing_month': 7,
  'filing_day': 15,
  'note': 'The volunteer declares no criminal conviction when applying; only the declaration is '
          'kept.',
  'active': True,
  'key': 'golden_diamond',
  'name_zh': '金鑽獎 優良志工',
  'levels': [{'level': 1, 'name_zh': '優良志工', 'name_en': 'Volunteer', 'minutes': 36000}],
  'sort_order': 5},
 {'name_en': 'Golden Diamond team',
  'months_required': 0,
  'window': 'as_of',
  'once_per_level': True,
  'consumes': False,
  'validity_years': None,
  'needs_performance_certificate': False,
  'needs_criminal_record_declaration': False,
  'computed': False,
  'filing_month': 7,
  'filing_day': 15,
  'note': 'Not computed here: team at least 3 years old, at least 15 members, all insured, at '
          'least 80% hold a record book.',
  'active': True,
  'key': 'golden_diamond_team',
  'name_zh': '金鑽獎 團隊',
  'levels': [{'level': 1, 'name_zh': '團隊', 'name_en': 'Team', 'minutes': 0}],
  'sort_order': 6},
 {'name_en': 'Golden Diamond family',
  'months_required': 0,
  'window': 'as_of',
  'once_per_level': True,
  'consumes': False,
  'validity_years': None,
  'needs_performance_certificate': False,
  'needs_criminal_record_declaration': False,
  'computed': False,
  'filing_month': 7,
  'filing_day': 15,
  'note': 'Not computed here: at least 2 related volunteers, each at least 3 years and 600 hours.',
  'active': True,
  'key': 'golden_diamond_family',
  'name_zh': '金鑽獎 家庭',
  'levels': [{'level': 1, 'name_zh': '家庭', 'name_en': 'Family', 'minutes': 0}],
  'sort_order': 7}]


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    award_rule = op.create_table('award_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=160), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('months_required', sa.Integer(), nullable=False),
    sa.Column('window', sa.Enum('as_of', 'previous_dec31', 'may31', name='countingwindow', native_enum=False, length=20), nullable=False),
    sa.Column('once_per_level', sa.Boolean(), nullable=False),
    sa.Column('consumes', sa.Boolean(), nullable=False),
    sa.Column('validity_years', sa.Integer(), nullable=True),
    sa.Column('needs_performance_certificate', sa.Boolean(), nullable=False),
    sa.Column('needs_criminal_record_declaration', sa.Boolean(), nullable=False),
    sa.Column('computed', sa.Boolean(), nullable=False),
    sa.Column('filing_month', sa.Integer(), nullable=True),
    sa.Column('filing_day', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_rule')),
    sa.UniqueConstraint('key', name=op.f('uq_award_rule_key'))
    )
    op.create_table('award_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('award_key', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('applied', 'granted', 'not_granted', name='grantstatus', native_enum=False, length=20), nullable=False),
    sa.Column('applied_on', sa.Date(), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('minutes_counted', sa.Integer(), nullable=False),
    sa.Column('minutes_used', sa.Integer(), nullable=False),
    sa.Column('months_used', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_award_grant_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_award_grant_unit_id_unit')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], name=op.f('fk_award_grant_volunteer_id_volunteer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_grant'))
    )
    with op.batch_alter_table('award_grant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_grant_award_key'), ['award_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_grant_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_grant_volunteer_id'), ['volunteer_id'], unique=False)

    # ### end Alembic commands ###
    # The default rules of rules.md, frozen here (models.awards.DEFAULT_RULES may change later;
    # this migration must not). They are data: editable rows, not code.
    op.bulk_insert(award_rule, DEFAULT_RULES)


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('award_grant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_grant_volunteer_id'))
        batch_op.drop_index(batch_op.f('ix_award_grant_unit_id'))
        batch_op.drop_index(batch_op.f('ix_award_grant_award_key'))

    op.drop_table('award_grant')
    op.drop_table('award_rule')
    # ### end Alembic commands ###
