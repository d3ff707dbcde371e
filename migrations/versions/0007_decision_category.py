"""vetting_decision.category: the neutral reason the public verification history shows

Revision ID: 0007
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

CATEGORIES = ("exclusion_list", "exclusion_ruled_out", "credential_lapsed", "credential_problem",
              "administrative_review")


def upgrade():
    quoted = ", ".join(f"'{c}'" for c in CATEGORIES)
    with op.batch_alter_table('vetting_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=24), nullable=False,
                                      server_default='administrative_review'))
        batch_op.create_check_constraint('category_known', f"category IN ({quoted})")


def downgrade():
    with op.batch_alter_table('vetting_decision', schema=None) as batch_op:
        batch_op.drop_constraint('category_known', type_='check')
        batch_op.drop_column('category')
