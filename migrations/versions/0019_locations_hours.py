"""locations and hours: unplaced addresses (no coordinates, flagged) and dated exceptions to the weekly hours

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.alter_column('latitude', existing_type=sa.Float(), nullable=True)
        batch_op.alter_column('longitude', existing_type=sa.Float(), nullable=True)
        batch_op.add_column(sa.Column('unplaced_since', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_location_placed_or_flagged'),
                                         '(latitude IS NULL) = (longitude IS NULL) AND '
                                         '(latitude IS NOT NULL OR unplaced_since IS NOT NULL)')
    op.create_table(
        'hours_exception',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('location_id', sa.Integer(), nullable=False),
        sa.Column('on_date', sa.Date(), nullable=False),
        sa.Column('opens', sa.Time(), nullable=True),
        sa.Column('closes', sa.Time(), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=False, server_default=''),
        sa.CheckConstraint('(opens IS NULL AND closes IS NULL) OR (opens IS NOT NULL AND opens < closes)',
                           name=op.f('ck_hours_exception_closed_or_range')),
        sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_hours_exception_location_id_location'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hours_exception')),
        sa.UniqueConstraint('location_id', 'on_date', 'opens', name=op.f('uq_hours_exception_location_id_on_date_opens')),
    )
    op.create_index(op.f('ix_hours_exception_location_id'), 'hours_exception', ['location_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_hours_exception_location_id'), table_name='hours_exception')
    op.drop_table('hours_exception')
    op.execute('DELETE FROM location WHERE latitude IS NULL')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_location_placed_or_flagged'), type_='check')
        batch_op.drop_column('unplaced_since')
        batch_op.alter_column('longitude', existing_type=sa.Float(), nullable=False)
        batch_op.alter_column('latitude', existing_type=sa.Float(), nullable=False)
