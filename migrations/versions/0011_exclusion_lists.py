"""exclusion lists: exclusion_import.list ('leie', 'sam') and exclusion.details for what a list alone publishes

Revision ID: 0011
Revises: 0010

Both columns are added in place (ALTER TABLE ... ADD COLUMN) rather than through a batch
rebuild: on SQLite a rebuild drops the table, and with foreign keys on, dropping
exclusion_import would cascade to the whole current exclusion list. Existing imports are LEIE.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

LISTS = ('leie', 'sam')
CHECK = f"list IN ({', '.join(repr(code) for code in LISTS)})"


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite accepts a CHECK in ADD COLUMN; adding a table constraint would need a rebuild.
        op.execute("ALTER TABLE exclusion_import ADD COLUMN list VARCHAR(8) DEFAULT 'leie' NOT NULL "
                   f"CONSTRAINT ck_exclusion_import_list_known CHECK ({CHECK})")
    else:
        op.add_column('exclusion_import', sa.Column('list', sa.String(length=8), nullable=False,
                                                    server_default='leie'))
        op.create_check_constraint(op.f('ck_exclusion_import_list_known'), 'exclusion_import', CHECK)
    op.add_column('exclusion', sa.Column('details', sa.Text(), nullable=False, server_default='{}'))


def downgrade():
    # Without the column the SAM imports would read as LEIE ones: remove them (their rows cascade).
    op.execute("DELETE FROM exclusion_name WHERE exclusion_id IN (SELECT e.id FROM exclusion e "
               "JOIN exclusion_import i ON i.id = e.import_id WHERE i.list <> 'leie')")
    op.execute("DELETE FROM exclusion WHERE import_id IN (SELECT id FROM exclusion_import WHERE list <> 'leie')")
    op.execute("DELETE FROM exclusion_import WHERE list <> 'leie'")
    op.drop_column('exclusion', 'details')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('ck_exclusion_import_list_known'), 'exclusion_import', type_='check')
    op.drop_column('exclusion_import', 'list')
