"""referrals: one lifecycle for doctors' referrals and patients' requests, sealed patient data, notifications

Revision ID: 0010
Revises: 0009

The referral tables of 0001 were never written to (no code created a referral), so they are
rebuilt in their new shape rather than altered column by column; the upgrade refuses to run
if a row exists, so no data can be lost silently.
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

STATES = ('sent', 'accepted', 'declined', 'scheduled', 'attended', 'no_show', 'completed', 'cancelled', 'expired')
OLD_STATES = ('draft', 'sent', 'accepted', 'declined', 'scheduled', 'completed', 'cancelled', 'expired')
ROLES = ('sender', 'practitioner', 'patient', 'admin', 'system')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    rows = op.get_bind().execute(sa.text('SELECT count(*) FROM referral')).scalar()
    if rows:
        raise RuntimeError(f'referral holds {rows} rows; 0010 rebuilds the table and would lose them')
    op.drop_table('referral_event')
    op.drop_table('referral')
    _create_referral()
    _create_referral_event()
    _create_notification()


def _create_referral():
    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('patient_name', sa.Text(), nullable=True),
    sa.Column('patient_contact', sa.Text(), nullable=True),
    sa.Column('condition_id', sa.Integer(), nullable=True),
    sa.Column('method_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('preferred_times', sa.Text(), nullable=False),
    sa.Column('screening_snapshot', sa.Text(), nullable=True),
    sa.Column('flags_acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('respond_by', sa.DateTime(), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(_in('state', STATES), name=op.f('ck_referral_state_known')),
    sa.CheckConstraint("kind IN ('referral', 'request')", name=op.f('ck_referral_kind_known')),
    sa.CheckConstraint("urgency IN ('routine', 'soon')", name=op.f('ck_referral_urgency_known')),
    sa.CheckConstraint("reason <> ''", name=op.f('ck_referral_reason_present')),
    sa.CheckConstraint('reason IS NULL OR length(reason) <= 4000', name=op.f('ck_referral_reason_length')),
    sa.CheckConstraint('outcome IS NULL OR length(outcome) <= 4000', name=op.f('ck_referral_outcome_length')),
    sa.CheckConstraint('preferred_times IS NULL OR length(preferred_times) <= 1000',
                       name=op.f('ck_referral_preferred_times_length')),
    sa.CheckConstraint("idempotency_key <> ''", name=op.f('ck_referral_idempotency_key_present')),
    sa.CheckConstraint("state NOT IN ('scheduled', 'attended', 'no_show') OR scheduled_for IS NOT NULL",
                       name=op.f('ck_referral_scheduled_has_time')),
    sa.CheckConstraint("state <> 'completed' OR (outcome IS NOT NULL AND outcome <> '')",
                       name=op.f('ck_referral_completed_has_outcome')),
    sa.CheckConstraint("kind = 'referral' OR patient_id IS NULL OR patient_id = sender_id",
                       name=op.f('ck_referral_request_names_sender')),
    sa.ForeignKeyConstraint(['condition_id'], ['condition.id'], name=op.f('fk_referral_condition_id_condition'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['method_id'], ['method.id'], name=op.f('fk_referral_method_id_method'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['patient_id'], ['user.id'], name=op.f('fk_referral_patient_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_referral_practitioner_id_practitioner'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sender_id'], ['user.id'], name=op.f('fk_referral_sender_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    sa.UniqueConstraint('sender_id', 'idempotency_key', name=op.f('uq_referral_sender_id_idempotency_key'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_practitioner_id'), ['practitioner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_respond_by'), ['respond_by'], unique=False)


def _create_referral_event():
    op.create_table('referral_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=12), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint(_in('to_state', STATES), name=op.f('ck_referral_event_to_state_known')),
    sa.CheckConstraint(_in('actor_role', ROLES), name=op.f('ck_referral_event_actor_role_known')),
    sa.CheckConstraint('from_state IS NULL OR from_state <> to_state', name=op.f('ck_referral_event_changes_state')),
    sa.CheckConstraint('note IS NULL OR length(note) <= 4000', name=op.f('ck_referral_event_note_length')),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_referral_event_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_event_referral_id_referral'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_event'))
    )
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_event_referral_id'), ['referral_id'], unique=False)


def _create_notification():
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("text <> ''", name=op.f('ck_notification_text_present')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_notification_referral_id_referral'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index('ix_notification_user_id_read_at', ['user_id', 'read_at'], unique=False)


def downgrade():
    op.drop_table('notification')
    op.drop_table('referral_event')
    op.drop_table('referral')
    _create_old_referral()
    _create_old_referral_event()


def _create_old_referral():
    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('patient_name', sa.String(length=160), nullable=True),
    sa.Column('patient_contact', sa.String(length=254), nullable=True),
    sa.Column('condition_id', sa.Integer(), nullable=True),
    sa.Column('method_id', sa.Integer(), nullable=True),
    sa.Column('screening_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('respond_by', sa.Date(), nullable=True),
    sa.Column('scheduled_for', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("reason <> ''", name=op.f('ck_referral_reason_present')),
    sa.CheckConstraint(_in('state', OLD_STATES), name=op.f('ck_referral_state_known')),
    sa.ForeignKeyConstraint(['condition_id'], ['condition.id'], name=op.f('fk_referral_condition_id_condition'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['doctor_id'], ['user.id'], name=op.f('fk_referral_doctor_id_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['method_id'], ['method.id'], name=op.f('fk_referral_method_id_method'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['patient_id'], ['user.id'], name=op.f('fk_referral_patient_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_referral_practitioner_id_practitioner'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['screening_id'], ['screening.id'], name=op.f('fk_referral_screening_id_screening'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_doctor_id'), ['doctor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_practitioner_id'), ['practitioner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_state'), ['state'], unique=False)


def _create_old_referral_event():
    op.create_table('referral_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint(_in('to_state', OLD_STATES), name=op.f('ck_referral_event_to_state_known')),
    sa.CheckConstraint('from_state IS NULL OR from_state <> to_state', name=op.f('ck_referral_event_changes_state')),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_referral_event_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_event_referral_id_referral'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_event'))
    )
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_event_referral_id'), ['referral_id'], unique=False)
