"""review (practitioner_id, moderation_state) index for per-practitioner ratings

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_review_practitioner_id_moderation_state', 'review', ['practitioner_id', 'moderation_state'])


def downgrade():
    op.drop_index('ix_review_practitioner_id_moderation_state', table_name='review')
