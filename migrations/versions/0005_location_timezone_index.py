"""location.timezone index: the time zones in use for "open now", read by a loose index scan

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_location_timezone', 'location', ['timezone'])


def downgrade():
    op.drop_index('ix_location_timezone', table_name='location')
