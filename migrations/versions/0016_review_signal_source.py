"""verification_check.source: allow 'review_signal', an admin's finding on adverse-event signals in reviews

Revision ID: 0016
Revises: 0015

SQLite cannot alter a CHECK constraint, so batch mode rebuilds the table; rebuilding drops its
append-only triggers (0001), which are therefore created again right after (as in 0015).
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BEFORE = ("npi_registry", "exclusion_list", "sam_exclusions", "state_board", "certification_body", "document", "manual")
AFTER = (*BEFORE, "review_signal")
NAME = "source_known"  # the naming convention makes it ck_verification_check_source_known
SQLITE_TRIGGERS = [
    "CREATE TRIGGER verification_check_no_update BEFORE UPDATE ON verification_check "
    "BEGIN SELECT RAISE(ABORT, 'verification_check is append-only'); END",
    "CREATE TRIGGER verification_check_no_delete BEFORE DELETE ON verification_check "
    "BEGIN SELECT RAISE(ABORT, 'verification_check is append-only'); END",
]


def _set_sources(codes):
    quoted = ", ".join(f"'{c}'" for c in codes)
    if op.get_bind().dialect.name == "postgresql":
        # ALTER TABLE fires no row trigger: the append-only triggers stay as they are.
        op.drop_constraint(NAME, "verification_check", type_="check")
        op.create_check_constraint(NAME, "verification_check", f"source IN ({quoted})")
        return
    with op.batch_alter_table("verification_check", schema=None, recreate="always") as batch_op:
        batch_op.drop_constraint(NAME, type_="check")
        batch_op.create_check_constraint(NAME, f"source IN ({quoted})")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade():
    _set_sources(AFTER)


def downgrade():
    # With review-signal findings in the history the narrower constraint fails, and the downgrade with it.
    _set_sources(BEFORE)
