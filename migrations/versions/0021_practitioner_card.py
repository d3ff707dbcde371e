"""practitioner_card: each practitioner's result card as one row, valid while its search version is current

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'practitioner_card',
        sa.Column('practitioner_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_practitioner_card')),
    )


def downgrade():
    op.drop_table('practitioner_card')
