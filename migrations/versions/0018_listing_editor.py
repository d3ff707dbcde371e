"""listing editor: fees and insurance as free text, and claims that create their own (hidden) listing

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('practitioner', sa.Column('fees', sa.Text(), nullable=False, server_default=''))
    op.add_column('practitioner', sa.Column('insurance', sa.Text(), nullable=False, server_default=''))
    op.add_column('practitioner_claim',
                  sa.Column('creates_listing', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('practitioner_claim', schema=None) as batch_op:
        batch_op.drop_column('creates_listing')
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.drop_column('insurance')
        batch_op.drop_column('fees')
