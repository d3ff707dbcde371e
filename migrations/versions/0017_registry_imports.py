"""registry imports: listings from the NPI registry, and resumable API import runs

Revision ID: 0017
Revises: 0014 (the lead re-chains onto 0016 at merge)
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registry_listing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('npi', sa.String(length=10), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('first_imported_at', sa.DateTime(), nullable=False),
    sa.Column('last_imported_at', sa.DateTime(), nullable=False),
    sa.Column('unplaced_address', sa.String(length=400), nullable=False),
    sa.CheckConstraint('length(npi) = 10', name=op.f('ck_registry_listing_npi_length')),
    sa.CheckConstraint("source IN ('nppes_api', 'nppes_file')", name=op.f('ck_registry_listing_source_known')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'],
                            name=op.f('fk_registry_listing_practitioner_id_practitioner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_listing')),
    sa.UniqueConstraint('npi', name=op.f('uq_registry_listing_npi')),
    sa.UniqueConstraint('practitioner_id', name=op.f('uq_registry_listing_practitioner_id')),
    )
    op.create_table('import_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query_key', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.CheckConstraint("state IN ('running', 'done')", name=op.f('ck_import_run_state_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_run')),
    )
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_run_query_key'), ['query_key'], unique=False)
    op.create_table('import_slice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('query_key', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('next_skip', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'done', 'split', 'error')", name=op.f('ck_import_slice_state_known')),
    sa.CheckConstraint('next_skip >= 0', name=op.f('ck_import_slice_skip_non_negative')),
    sa.ForeignKeyConstraint(['run_id'], ['import_run.id'],
                            name=op.f('fk_import_slice_run_id_import_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_slice')),
    sa.UniqueConstraint('run_id', 'query_key', name=op.f('uq_import_slice_run_id_query_key')),
    )
    with op.batch_alter_table('import_slice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_slice_run_id'), ['run_id'], unique=False)


def downgrade():
    op.drop_table('import_slice')
    op.drop_table('import_run')
    op.drop_table('registry_listing')
