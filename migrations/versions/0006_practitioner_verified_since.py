"""practitioner.verified_since: the first day of the current verified run, cached like vetting_status

Left empty here: the dates come from the verification history through the status rules, which
the next `flask vetting run` applies (it treats a missing date of a verified practitioner as
outdated). Until then no "verified since" date is shown, rather than a wrong one.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('practitioner', sa.Column('verified_since', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.drop_column('verified_since')
