"""search_version: a per-practitioner counter, the search engines' external document version

Revision ID: 0009
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_version',
    sa.Column('practitioner_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_search_version_version_positive')),
    sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_search_version'))
    )
    # Every existing practitioner starts at version 1; documents indexed before this carry no version, so
    # `flask search reindex` once after upgrading (the embedded index rebuilds itself, see SCHEMA_VERSION).
    op.execute('INSERT INTO search_version (practitioner_id, version) SELECT id, 1 FROM practitioner')


def downgrade():
    op.drop_table('search_version')
