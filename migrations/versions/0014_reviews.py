"""reviews written, moderated and answered: sub-ratings, verified visits, events, response history

Revision ID: 0014
Revises: 0010

Existing (seeded) reviews keep working: published ones get ``published_at`` from when they were
moderated (or written), and an existing response becomes its first response revision.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

SCORE_CHECKS = [
    ('communication_rating_range', 'communication_rating IS NULL OR communication_rating BETWEEN 1 AND 5'),
    ('risks_rating_range', 'risks_rating IS NULL OR risks_rating BETWEEN 1 AND 5'),
    ('pain_effect_rating_range', 'pain_effect_rating IS NULL OR pain_effect_rating BETWEEN 1 AND 5'),
    ('pain_before_range', 'pain_before IS NULL OR pain_before BETWEEN 0 AND 10'),
    ('pain_after_range', 'pain_after IS NULL OR pain_after BETWEEN 0 AND 10'),
    ('pain_scores_paired', '(pain_before IS NULL) = (pain_after IS NULL)'),
    ('body_length', 'length(body) <= 5000'),
]
REVIEW_CHECKS = [
    ('response_length', 'response_body IS NULL OR length(response_body) <= 3000'),
    ('visit_confirmed_by_someone', '(visit_confirmed_at IS NULL) OR (visit_confirmed_by_id IS NOT NULL)'),
]
# Events are never changed; the one update allowed is the database's own ON DELETE SET NULL of a deleted actor.
_FIXED = "id, review_id, kind, actor_role, occurred_at, from_state, to_state, reason, note"
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER review_event_no_update BEFORE UPDATE OF {_FIXED} ON review_event "
    "BEGIN SELECT RAISE(ABORT, 'review_event is append-only'); END",
    "CREATE TRIGGER review_event_actor_only_cleared BEFORE UPDATE OF actor_id ON review_event "
    "WHEN NEW.actor_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'review_event is append-only'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE FUNCTION review_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL AND ROW(NEW.{_FIXED.replace(', ', ', NEW.')}) "
    f"IS NOT DISTINCT FROM ROW(OLD.{_FIXED.replace(', ', ', OLD.')}) THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'review_event is append-only'; END $$",
    "CREATE TRIGGER review_event_append_only BEFORE UPDATE ON review_event "
    "FOR EACH ROW EXECUTE FUNCTION review_event_append_only()",
]


def upgrade():
    _create_tables()
    _add_review_columns()
    _add_revision_columns()
    _backfill()
    for statement in POSTGRES_TRIGGERS if op.get_bind().dialect.name == 'postgresql' else SQLITE_TRIGGERS:
        op.execute(statement)


def _backfill():
    op.execute("UPDATE review SET published_at = COALESCE(moderated_at, created_at) WHERE moderation_state = 'published'")
    op.execute("INSERT INTO review_response_revision (review_id, revision, body, author_id, written_at) "
               "SELECT id, 1, response_body, NULL, response_at FROM review WHERE response_body IS NOT NULL")


def _create_tables():
    op.create_table('review_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=12), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("actor_role IN ('patient', 'practitioner', 'doctor', 'admin', 'system')", name=op.f('ck_review_event_actor_role_known')),
    sa.CheckConstraint("kind IN ('submitted', 'edited', 'held', 'approved', 'rejected', 'removed', 'reported', 'responded', 'response_edited', 'visit_confirmed', 'adverse_event_signal')", name=op.f('ck_review_event_kind_known')),
    sa.CheckConstraint('length(note) <= 1000', name=op.f('ck_review_event_note_length')),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_review_event_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_review_event_review_id_review'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_event'))
    )
    with op.batch_alter_table('review_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_event_review_id'), ['review_id'], unique=False)
        batch_op.create_index('uq_review_event_one_report', ['review_id', 'actor_id'], unique=True, sqlite_where=sa.text("kind = 'reported'"), postgresql_where=sa.text("kind = 'reported'"))

    op.create_table('review_method',
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('method_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['method_id'], ['method.id'], name=op.f('fk_review_method_method_id_method'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_review_method_review_id_review'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('review_id', 'method_id', name=op.f('pk_review_method'))
    )
    with op.batch_alter_table('review_method', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_method_method_id'), ['method_id'], unique=False)

    op.create_table('review_response_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('written_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("body <> '' AND length(body) <= 3000", name=op.f('ck_review_response_revision_body_length')),
    sa.CheckConstraint('revision >= 1', name=op.f('ck_review_response_revision_revision_positive')),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], name=op.f('fk_review_response_revision_author_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['review.id'], name=op.f('fk_review_response_revision_review_id_review'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_response_revision')),
    sa.UniqueConstraint('review_id', 'revision', name=op.f('uq_review_response_revision_review_id_revision'))
    )


def _add_review_columns():
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.add_column(sa.Column('communication_rating', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('risks_rating', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('pain_effect_rating', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('condition_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('referral_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('visit_confirmed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('visit_confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pain_before', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('pain_after', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('published_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('removal_category', sa.String(length=24), nullable=True))
        batch_op.create_index(batch_op.f('ix_review_referral_id'), ['referral_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_review_practitioner_id_author_id'), ['practitioner_id', 'author_id'])
        batch_op.create_foreign_key(batch_op.f('fk_review_visit_confirmed_by_id_user'), 'user', ['visit_confirmed_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_review_condition_id_condition'), 'condition', ['condition_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(batch_op.f('fk_review_referral_id_referral'), 'referral', ['referral_id'], ['id'], ondelete='SET NULL')
        for name, condition in SCORE_CHECKS + REVIEW_CHECKS:
            batch_op.create_check_constraint(batch_op.f(f'ck_review_{name}'), condition)



def _add_revision_columns():
    with op.batch_alter_table('review_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('communication_rating', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('risks_rating', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('pain_effect_rating', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('visit_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('condition_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('methods', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('pain_before', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('pain_after', sa.SmallInteger(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_review_revision_condition_id_condition'), 'condition', ['condition_id'], ['id'], ondelete='RESTRICT')
        for name, condition in SCORE_CHECKS:
            batch_op.create_check_constraint(batch_op.f(f'ck_review_revision_{name}'), condition)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS review_event_append_only ON review_event")
        op.execute("DROP FUNCTION IF EXISTS review_event_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS review_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS review_event_actor_only_cleared")
    with op.batch_alter_table('review_revision', schema=None) as batch_op:
        for name, _ in SCORE_CHECKS:
            batch_op.drop_constraint(batch_op.f(f'ck_review_revision_{name}'), type_='check')
    with op.batch_alter_table('review_revision', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_review_revision_condition_id_condition'), type_='foreignkey')
        batch_op.drop_column('pain_after')
        batch_op.drop_column('pain_before')
        batch_op.drop_column('methods')
        batch_op.drop_column('condition_id')
        batch_op.drop_column('visit_date')
        batch_op.drop_column('pain_effect_rating')
        batch_op.drop_column('risks_rating')
        batch_op.drop_column('communication_rating')

    with op.batch_alter_table('review', schema=None) as batch_op:
        for name, _ in SCORE_CHECKS + REVIEW_CHECKS:
            batch_op.drop_constraint(batch_op.f(f'ck_review_{name}'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_review_referral_id_referral'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_review_condition_id_condition'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_review_visit_confirmed_by_id_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_review_practitioner_id_author_id'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_review_referral_id'))
        batch_op.drop_column('removal_category')
        batch_op.drop_column('published_at')
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('pain_after')
        batch_op.drop_column('pain_before')
        batch_op.drop_column('visit_confirmed_by_id')
        batch_op.drop_column('visit_confirmed_at')
        batch_op.drop_column('referral_id')
        batch_op.drop_column('condition_id')
        batch_op.drop_column('pain_effect_rating')
        batch_op.drop_column('risks_rating')
        batch_op.drop_column('communication_rating')

    op.drop_table('review_response_revision')
    with op.batch_alter_table('review_method', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_method_method_id'))

    op.drop_table('review_method')
    with op.batch_alter_table('review_event', schema=None) as batch_op:
        batch_op.drop_index('uq_review_event_one_report', sqlite_where=sa.text("kind = 'reported'"), postgresql_where=sa.text("kind = 'reported'"))
        batch_op.drop_index(batch_op.f('ix_review_event_review_id'))

    op.drop_table('review_event')
