"""chain_head_statement: signed, append-only statements of every practitioner's chain head

Revision ID: 0012
Revises: 0010

Like Certificate Transparency's signed tree heads: once a head is signed and published,
rewriting the last check of a chain (and recomputing its hash) no longer goes unnoticed.
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Append-only at the database too, as verification_check is (0001).
SQLITE_TRIGGERS = [
    "CREATE TRIGGER chain_head_statement_no_update BEFORE UPDATE ON chain_head_statement "
    "BEGIN SELECT RAISE(ABORT, 'chain_head_statement is append-only'); END",
    "CREATE TRIGGER chain_head_statement_no_delete BEFORE DELETE ON chain_head_statement "
    "BEGIN SELECT RAISE(ABORT, 'chain_head_statement is append-only'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION chain_head_statement_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'chain_head_statement is append-only'; END $$",
    "CREATE TRIGGER chain_head_statement_append_only BEFORE UPDATE OR DELETE ON chain_head_statement "
    "FOR EACH ROW EXECUTE FUNCTION chain_head_statement_append_only()",
    "CREATE TRIGGER chain_head_statement_no_truncate BEFORE TRUNCATE ON chain_head_statement "
    "FOR EACH STATEMENT EXECUTE FUNCTION chain_head_statement_append_only()",
]


def upgrade():
    op.create_table(
        'chain_head_statement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('key_id', sa.String(length=64), nullable=False),
        sa.Column('heads_count', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('previous_sha256', sa.String(length=64), nullable=True),
        sa.Column('signature', sa.String(length=100), nullable=False),
        sa.CheckConstraint('number >= 1', name=op.f('ck_chain_head_statement_number_positive')),
        sa.CheckConstraint('(number = 1) = (previous_sha256 IS NULL)',
                           name=op.f('ck_chain_head_statement_statement_chain_start')),
        sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_chain_head_statement_statement_hash_length')),
        sa.CheckConstraint('length(key_id) = 64', name=op.f('ck_chain_head_statement_key_id_length')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_chain_head_statement')),
        sa.UniqueConstraint('number', name=op.f('uq_chain_head_statement_number')),
        sa.UniqueConstraint('sha256', name=op.f('uq_chain_head_statement_sha256')),
    )
    with op.batch_alter_table('chain_head_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chain_head_statement_issued_at'), ['issued_at'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS chain_head_statement_no_truncate ON chain_head_statement")
        op.execute("DROP TRIGGER IF EXISTS chain_head_statement_append_only ON chain_head_statement")
        op.execute("DROP FUNCTION IF EXISTS chain_head_statement_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS chain_head_statement_no_update")
        op.execute("DROP TRIGGER IF EXISTS chain_head_statement_no_delete")
    with op.batch_alter_table('chain_head_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chain_head_statement_issued_at'))
    op.drop_table('chain_head_statement')
