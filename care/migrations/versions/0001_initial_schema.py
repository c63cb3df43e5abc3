"""initial schema: people, catalogue, slots, bookings, alerts, append-only audit log

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 13:26:52.184464
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=160), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=160), nullable=False),
    sa.Column('start', sa.Time(), nullable=False),
    sa.Column('end', sa.Time(), nullable=False),
    sa.Column('place', sa.String(length=120), nullable=True),
    sa.Column('place_en', sa.String(length=160), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('code', name=op.f('uq_activities_code'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_date'), ['date'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('on_behalf_of', sa.String(length=120), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('catalog_meta',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_catalog_meta'))
    )
    op.create_table('clinic_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=160), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('department', sa.String(length=60), nullable=False),
    sa.Column('department_en', sa.String(length=80), nullable=False),
    sa.Column('doctor', sa.String(length=60), nullable=False),
    sa.Column('doctor_en', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=True),
    sa.Column('title_en', sa.String(length=80), nullable=True),
    sa.Column('room', sa.String(length=120), nullable=True),
    sa.Column('room_en', sa.String(length=120), nullable=True),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_sessions')),
    sa.UniqueConstraint('code', name=op.f('uq_clinic_sessions_code'))
    )
    with op.batch_alter_table('clinic_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinic_sessions_date'), ['date'], unique=False)

    op.create_table('day_care_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('room', sa.String(length=120), nullable=True),
    sa.Column('room_en', sa.String(length=120), nullable=True),
    sa.Column('pickup_points', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_day_care_sessions')),
    sa.UniqueConstraint('code', name=op.f('uq_day_care_sessions_code'))
    )
    with op.batch_alter_table('day_care_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_day_care_sessions_date'), ['date'], unique=False)

    op.create_table('meals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=80), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('meal', sa.String(length=16), nullable=False),
    sa.Column('menu', sa.JSON(), nullable=False),
    sa.Column('price_yuan', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meals')),
    sa.UniqueConstraint('code', name=op.f('uq_meals_code'))
    )
    with op.batch_alter_table('meals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meals_date'), ['date'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('preferred_language', sa.String(length=8), server_default='zh', nullable=False),
    sa.Column('dietary_needs', sa.JSON(), nullable=False),
    sa.Column('mobility_needs', sa.Text(), nullable=True),
    sa.Column('needs_transport', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('community', sa.String(length=120), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('consent_data', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('consent_family_notify', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('consent_voice_recording', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('elder', 'family')", name=op.f('ck_people_kind')),
    sa.CheckConstraint("preferred_language IN ('zh', 'en')", name=op.f('ck_people_language')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_table('volunteers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('interests_en', sa.JSON(), nullable=False),
    sa.Column('call_minutes', sa.Integer(), nullable=False),
    sa.Column('availability', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteers')),
    sa.UniqueConstraint('code', name=op.f('uq_volunteers_code'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='open', nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('assigned_to', sa.String(length=80), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=80), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=80), nullable=True),
    sa.CheckConstraint("kind IN ('emergency', 'crisis', 'handoff', 'loneliness_risk')", name=op.f('ck_alerts_kind')),
    sa.CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name=op.f('ck_alerts_status')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_alerts_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_alerts_status_priority', ['status', 'priority', 'created_at'], unique=False)

    op.create_table('channel_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_channel_identities_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_identities')),
    sa.UniqueConstraint('channel', 'external_id', name='uq_channel_identity')
    )
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_identities_person_id'), ['person_id'], unique=False)

    op.create_table('family_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('relation', sa.String(length=40), nullable=False),
    sa.Column('can_book', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('can_cancel', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('notify', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('consented_by_id', sa.Integer(), nullable=True),
    sa.Column('consented_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'active', 'revoked')", name=op.f('ck_family_links_status')),
    sa.CheckConstraint('elder_id <> family_id', name=op.f('ck_family_links_not_self')),
    sa.ForeignKeyConstraint(['consented_by_id'], ['people.id'], name=op.f('fk_family_links_consented_by_id_people')),
    sa.ForeignKeyConstraint(['elder_id'], ['people.id'], name=op.f('fk_family_links_elder_id_people')),
    sa.ForeignKeyConstraint(['family_id'], ['people.id'], name=op.f('fk_family_links_family_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_links')),
    sa.UniqueConstraint('elder_id', 'family_id', name='uq_family_link_pair')
    )
    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_links_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_family_links_family_id'), ['family_id'], unique=False)

    op.create_table('slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=200), nullable=False),
    sa.Column('group_code', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('option', sa.String(length=40), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('cutoff_at', sa.DateTime(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), server_default='0', nullable=False),
    sa.Column('meal_id', sa.Integer(), nullable=True),
    sa.Column('day_care_id', sa.Integer(), nullable=True),
    sa.Column('clinic_session_id', sa.Integer(), nullable=True),
    sa.Column('volunteer_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("service IN ('meal', 'day_care', 'clinic', 'companion_call')", name=op.f('ck_slots_service')),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_slots_capacity_not_negative')),
    sa.CheckConstraint('used >= 0 AND used <= capacity', name=op.f('ck_slots_within_capacity')),
    sa.ForeignKeyConstraint(['clinic_session_id'], ['clinic_sessions.id'], name=op.f('fk_slots_clinic_session_id_clinic_sessions')),
    sa.ForeignKeyConstraint(['day_care_id'], ['day_care_sessions.id'], name=op.f('fk_slots_day_care_id_day_care_sessions')),
    sa.ForeignKeyConstraint(['meal_id'], ['meals.id'], name=op.f('fk_slots_meal_id_meals')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_slots_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slots')),
    sa.UniqueConstraint('code', name=op.f('uq_slots_code'))
    )
    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slots_group_code'), ['group_code'], unique=False)
        batch_op.create_index('ix_slots_service_date', ['service', 'date'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=20), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('group_code', sa.String(length=200), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('booked_by_id', sa.Integer(), nullable=True),
    sa.Column('booked_by_staff', sa.String(length=80), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), server_default='1', nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=True),
    sa.Column('rescheduled_from_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('confirmed', 'cancelled', 'waitlisted', 'completed', 'no_show')", name=op.f('ck_bookings_status')),
    sa.CheckConstraint('booked_by_id IS NOT NULL OR booked_by_staff IS NOT NULL', name=op.f('ck_bookings_has_booker')),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_bookings_quantity_positive')),
    sa.ForeignKeyConstraint(['booked_by_id'], ['people.id'], name=op.f('fk_bookings_booked_by_id_people')),
    sa.ForeignKeyConstraint(['elder_id'], ['people.id'], name=op.f('fk_bookings_elder_id_people')),
    sa.ForeignKeyConstraint(['rescheduled_from_id'], ['bookings.id'], name=op.f('fk_bookings_rescheduled_from_id_bookings')),
    sa.ForeignKeyConstraint(['slot_id'], ['slots.id'], name=op.f('fk_bookings_slot_id_slots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_bookings_idempotency_key'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_slot_id'), ['slot_id'], unique=False)
        batch_op.create_index('ix_bookings_waitlist', ['slot_id', 'status', 'id'], unique=False)
        batch_op.create_index('uq_bookings_one_active_per_group', ['elder_id', 'group_code'], unique=True, sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')"), postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"))

    _audit_log_append_only()


# The audit log is evidence: the database itself refuses to change or delete it.
def _audit_log_append_only() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def _drop_audit_log_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")


def downgrade() -> None:
    _drop_audit_log_triggers()

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_bookings_one_active_per_group', sqlite_where=sa.text("status IN ('confirmed', 'waitlisted')"), postgresql_where=sa.text("status IN ('confirmed', 'waitlisted')"))
        batch_op.drop_index('ix_bookings_waitlist')
        batch_op.drop_index(batch_op.f('ix_bookings_slot_id'))
        batch_op.drop_index(batch_op.f('ix_bookings_elder_id'))

    op.drop_table('bookings')
    with op.batch_alter_table('slots', schema=None) as batch_op:
        batch_op.drop_index('ix_slots_service_date')
        batch_op.drop_index(batch_op.f('ix_slots_group_code'))

    op.drop_table('slots')
    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_links_family_id'))
        batch_op.drop_index(batch_op.f('ix_family_links_elder_id'))

    op.drop_table('family_links')
    with op.batch_alter_table('channel_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_identities_person_id'))

    op.drop_table('channel_identities')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_status_priority')
        batch_op.drop_index(batch_op.f('ix_alerts_person_id'))

    op.drop_table('alerts')
    op.drop_table('volunteers')
    op.drop_table('people')
    with op.batch_alter_table('meals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meals_date'))

    op.drop_table('meals')
    with op.batch_alter_table('day_care_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_day_care_sessions_date'))

    op.drop_table('day_care_sessions')
    with op.batch_alter_table('clinic_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinic_sessions_date'))

    op.drop_table('clinic_sessions')
    op.drop_table('catalog_meta')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_date'))

    op.drop_table('activities')

