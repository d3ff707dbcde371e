"""vetting workbench: who is assigned a practitioner's queue items, and batches of automated checks

Revision ID: 0013
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vetting_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'],
                            name=op.f('fk_vetting_assignment_practitioner_id_practitioner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignee_id'], ['user.id'],
                            name=op.f('fk_vetting_assignment_assignee_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user.id'],
                            name=op.f('fk_vetting_assignment_assigned_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vetting_assignment')),
    sa.UniqueConstraint('practitioner_id', name=op.f('uq_vetting_assignment_practitioner_id')),
    )
    with op.batch_alter_table('vetting_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vetting_assignment_assignee_id'), ['assignee_id'], unique=False)

    op.create_table('vetting_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('filter_query', sa.Text(), nullable=False),
    sa.Column('practitioner_ids', sa.Text(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('outcomes', sa.Text(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=False),
    sa.CheckConstraint('total >= 0 AND done >= 0 AND failed >= 0', name=op.f('ck_vetting_batch_counts_non_negative')),
    sa.CheckConstraint('done <= total AND failed <= done', name=op.f('ck_vetting_batch_counts_consistent')),
    sa.CheckConstraint('finished_at IS NULL OR done = total', name=op.f('ck_vetting_batch_finished_when_done')),
    sa.ForeignKeyConstraint(['started_by_id'], ['user.id'],
                            name=op.f('fk_vetting_batch_started_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vetting_batch')),
    )
    with op.batch_alter_table('vetting_batch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vetting_batch_started_by_id'), ['started_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('vetting_batch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vetting_batch_started_by_id'))
    op.drop_table('vetting_batch')
    with op.batch_alter_table('vetting_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vetting_assignment_assignee_id'))
    op.drop_table('vetting_assignment')
