"""check_summary: each practitioner's checks folded once, trusted while its head is the chain's latest hash

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    # Empty at first: pages fold the chains themselves until `flask bootstrap` (or any rebuild of the result
    # cards) fills it; every check appended from now on keeps its practitioner's row current.
    op.create_table(
        'check_summary',
        sa.Column('practitioner_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('head', sa.String(length=64), nullable=False),
        sa.Column('fold', sa.String(length=16), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_check_summary')),
    )


def downgrade():
    op.drop_table('check_summary')
