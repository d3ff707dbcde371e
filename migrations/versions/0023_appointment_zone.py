"""referral.scheduled_zone: the clinic time zone an appointment was booked in, so every party reads it in that zone

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    # NULL for appointments booked before (typed in UTC): pages show them in the practitioner's clinic zone.
    op.add_column('referral', sa.Column('scheduled_zone', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('referral') as batch:
        batch.drop_column('scheduled_zone')
