"""admin listing tools: why a listing is hidden, and which listing a merged one now lives in

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hidden_reason', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_practitioner_merged_into_id_practitioner'), 'practitioner',
                                    ['merged_into_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_practitioner_merged_into_id_practitioner'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('hidden_reason')
