"""SQLAlchemy tables of the care domain (SQLAlchemy 1.4, 2.0-style).

The database enforces the rules that must never break: a CHECK keeps a slot's
``used`` within ``capacity``; a partial unique index keeps one active booking per
elder per meal/session; a unique idempotency key makes retries harmless; triggers
(see the migration) keep the audit log append-only.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship
from sqlalchemy.sql.schema import Column

from care.models_base import NAMING, Base, UTCDateTime, _in  # noqa: F401  (re-exported)

SERVICES = ("meal", "day_care", "clinic", "companion_call")
BOOKING_STATUSES = ("confirmed", "cancelled", "waitlisted", "completed", "no_show")
ACTIVE_STATUSES = ("confirmed", "waitlisted")
# message_failed: a channel message whose processing crashed its process, set aside
# (quarantined) rather than replayed; staff see what it was and answer the person.
# "check": a possible danger asked about, escalating to "emergency" at due_at (care/safety.py).
ALERT_KINDS = (
    "emergency", "crisis", "handoff", "loneliness_risk", "message_failed", "check",
)  # fmt: skip
ALERT_STATUSES = ("open", "acknowledged", "resolved")
LINK_STATUSES = ("pending", "active", "revoked")
PERSON_KINDS = ("elder", "family")


class Person(Base):
    __tablename__ = "people"
    id = Column(Integer, primary_key=True)
    kind = Column(String(16), nullable=False)
    name = Column(String(120), nullable=False)
    phone = Column(String(40))
    preferred_language = Column(String(8), nullable=False, server_default="zh")
    dietary_needs = Column(JSON, nullable=False, default=list)
    mobility_needs = Column(Text)
    needs_transport = Column(Boolean, nullable=False, server_default=text("false"))
    community = Column(String(120))
    address = Column(Text)
    interests = Column(JSON, nullable=False, default=list)
    consent_data = Column(Boolean, nullable=False, server_default=text("false"))
    consent_family_notify = Column(Boolean, nullable=False, server_default=text("false"))
    consent_voice_recording = Column(Boolean, nullable=False, server_default=text("false"))
    created_at = Column(UTCDateTime, nullable=False)
    __table_args__ = (
        CheckConstraint(_in("kind", PERSON_KINDS), name="kind"),
        CheckConstraint(_in("preferred_language", ("zh", "en")), name="language"),
    )


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    id = Column(Integer, primary_key=True)
    person_id = Column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    external_id = Column(String(200), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_channel_identity"),)


class FamilyLink(Base):
    __tablename__ = "family_links"
    id = Column(Integer, primary_key=True)
    elder_id = Column(ForeignKey("people.id"), nullable=False, index=True)
    family_id = Column(ForeignKey("people.id"), nullable=False, index=True)
    relation = Column(String(40), nullable=False)
    can_book = Column(Boolean, nullable=False, server_default=text("true"))
    can_cancel = Column(Boolean, nullable=False, server_default=text("true"))
    notify = Column(Boolean, nullable=False, server_default=text("true"))
    status = Column(String(16), nullable=False, server_default="pending")
    consented_by_id = Column(ForeignKey("people.id"))
    consented_at = Column(UTCDateTime)
    revoked_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False)
    # What the family member calls the elder ("mother", "grandfather"): "my mum" picks one.
    elder_called = Column(String(40))
    __table_args__ = (
        UniqueConstraint("elder_id", "family_id", name="uq_family_link_pair"),
        CheckConstraint(_in("status", LINK_STATUSES), name="status"),
        CheckConstraint("elder_id <> family_id", name="not_self"),
    )


class Meal(Base):
    __tablename__ = "meals"
    id = Column(Integer, primary_key=True)
    code = Column(String(80), nullable=False, unique=True)
    date = Column(Date, nullable=False, index=True)
    meal = Column(String(16), nullable=False)
    menu = Column(JSON, nullable=False, default=list)
    price_yuan = Column(Integer)


class DayCareSession(Base):
    __tablename__ = "day_care_sessions"
    id = Column(Integer, primary_key=True)
    code = Column(String(80), nullable=False, unique=True)
    date = Column(Date, nullable=False, index=True)
    period = Column(String(16), nullable=False)
    room = Column(String(120))
    room_en = Column(String(120))
    pickup_points = Column(JSON, nullable=False, default=list)


class ClinicSession(Base):
    __tablename__ = "clinic_sessions"
    id = Column(Integer, primary_key=True)
    code = Column(String(160), nullable=False, unique=True)
    date = Column(Date, nullable=False, index=True)
    department = Column(String(60), nullable=False)
    department_en = Column(String(80), nullable=False)
    doctor = Column(String(60), nullable=False)
    doctor_en = Column(String(80), nullable=False)
    title = Column(String(60))
    title_en = Column(String(80))
    room = Column(String(120))
    room_en = Column(String(120))
    slot_minutes = Column(Integer, nullable=False)


class Volunteer(Base):
    __tablename__ = "volunteers"
    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(60), nullable=False)
    name_en = Column(String(80), nullable=False)
    languages = Column(JSON, nullable=False, default=list)
    interests = Column(JSON, nullable=False, default=list)
    interests_en = Column(JSON, nullable=False, default=list)
    call_minutes = Column(Integer, nullable=False)
    availability = Column(JSON, nullable=False, default=list)


class Activity(Base):
    __tablename__ = "activities"
    id = Column(Integer, primary_key=True)
    code = Column(String(160), nullable=False, unique=True)
    date = Column(Date, nullable=False, index=True)
    kind = Column(String(20), nullable=False)
    name = Column(String(120), nullable=False)
    name_en = Column(String(160), nullable=False)
    start = Column(Time, nullable=False)
    end = Column(Time, nullable=False)
    place = Column(String(120))
    place_en = Column(String(160))


class Slot(Base):
    """One bookable capacity: a meal's dine-in seats, a clinic slot, a call time ...

    ``group_code`` names what an elder may hold only once (a meal, a clinic
    session, a day of day care); ``used`` is only ever changed by a conditional
    UPDATE, and the CHECK makes overbooking impossible even for a buggy caller.
    """

    __tablename__ = "slots"
    id = Column(Integer, primary_key=True)
    code = Column(String(200), nullable=False, unique=True)
    group_code = Column(String(200), nullable=False, index=True)
    service = Column(String(20), nullable=False)
    option = Column(String(40), nullable=False)
    date = Column(Date, nullable=False)
    starts_at = Column(UTCDateTime, nullable=False)
    ends_at = Column(UTCDateTime, nullable=False)
    cutoff_at = Column(UTCDateTime, nullable=False)
    capacity = Column(Integer, nullable=False)
    used = Column(Integer, nullable=False, server_default="0")
    meal_id = Column(ForeignKey("meals.id"))
    day_care_id = Column(ForeignKey("day_care_sessions.id"))
    clinic_session_id = Column(ForeignKey("clinic_sessions.id"))
    volunteer_id = Column(ForeignKey("volunteers.id"))
    meal_row = relationship(Meal, lazy="joined")
    day_care_row = relationship(DayCareSession, lazy="joined")
    clinic_row = relationship(ClinicSession, lazy="joined")
    volunteer_row = relationship(Volunteer, lazy="joined")
    __table_args__ = (
        CheckConstraint("used >= 0 AND used <= capacity", name="within_capacity"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint(_in("service", SERVICES), name="service"),
        Index("ix_slots_service_date", "service", "date"),
    )


class Booking(Base):
    __tablename__ = "bookings"
    id = Column(Integer, primary_key=True)
    service = Column(String(20), nullable=False)
    slot_id = Column(ForeignKey("slots.id"), nullable=False, index=True)
    group_code = Column(String(200), nullable=False)
    elder_id = Column(ForeignKey("people.id"), nullable=False, index=True)
    booked_by_id = Column(ForeignKey("people.id"))
    booked_by_staff = Column(String(80))
    channel = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False)
    quantity = Column(Integer, nullable=False, server_default="1")
    details = Column(JSON, nullable=False, default=dict)
    idempotency_key = Column(String(200), unique=True)
    request_hash = Column(String(64))
    rescheduled_from_id = Column(ForeignKey("bookings.id"))
    note = Column(Text)
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    cancelled_at = Column(UTCDateTime)
    slot = relationship(Slot, lazy="joined")
    __table_args__ = (
        CheckConstraint(_in("status", BOOKING_STATUSES), name="status"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint(
            "booked_by_id IS NOT NULL OR booked_by_staff IS NOT NULL", name="has_booker"
        ),
        Index(
            "uq_bookings_one_active_per_group",
            "elder_id",
            "group_code",
            unique=True,
            sqlite_where=text(_in("status", ACTIVE_STATUSES)),
            postgresql_where=text(_in("status", ACTIVE_STATUSES)),
        ),
        Index("ix_bookings_waitlist", "slot_id", "status", "id"),
    )


class Alert(Base):
    __tablename__ = "alerts"
    id = Column(Integer, primary_key=True)
    kind = Column(String(20), nullable=False)
    status = Column(String(16), nullable=False, server_default="open")
    priority = Column(Integer, nullable=False)
    person_id = Column(ForeignKey("people.id"), index=True)
    conversation_id = Column(String(200))
    channel = Column(String(32))
    summary = Column(Text, nullable=False)
    assigned_to = Column(String(80))
    note = Column(Text)
    created_at = Column(UTCDateTime, nullable=False)
    acknowledged_at = Column(UTCDateTime)
    acknowledged_by = Column(String(80))
    resolved_at = Column(UTCDateTime)
    resolved_by = Column(String(80))
    # Staff said it was a false alarm (care.alerts.Alerts.mark_false_alarm): who and when.
    false_alarm_at = Column(UTCDateTime)
    false_alarm_by = Column(String(80))
    false_alarm_resolved = Column(Boolean)  # the mark is what resolved it (undo reopens)
    due_at = Column(UTCDateTime)  # a check escalates when still open at this time
    __table_args__ = (
        CheckConstraint(_in("kind", ALERT_KINDS), name="kind"),
        CheckConstraint(_in("status", ALERT_STATUSES), name="status"),
        Index("ix_alerts_status_priority", "status", "priority", "created_at"),
        # The dashboard counts alarms (and false ones) per week of the last few weeks.
        Index("ix_alerts_created_at", "created_at"),
        Index("ix_alerts_due", "status", "due_at"),
    )


class AuditEntry(Base):
    """Append-only: UPDATE and DELETE are refused by triggers (see the migration)."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, index=True)
    actor = Column(String(120), nullable=False)
    on_behalf_of = Column(String(120))
    action = Column(String(60), nullable=False)
    subject = Column(String(120), nullable=False)
    channel = Column(String(32))
    detail = Column(JSON, nullable=False, default=dict)


class CatalogMeta(Base):
    """Centre details and the catalogue's fingerprint (so ``make run`` loads it once)."""

    __tablename__ = "catalog_meta"
    key = Column(String(60), primary_key=True)
    value = Column(JSON, nullable=False)


class Notification(Base):
    """Outbox of messages to people (family told of an emergency, an elder of a booking).

    Written in the same transaction as what caused it; the channels deliver them
    and set ``delivered_at``, so a crash between the two loses nothing.
    """

    __tablename__ = "notifications"
    id = Column(Integer, primary_key=True)
    person_id = Column(ForeignKey("people.id"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)
    subject = Column(String(120))
    message = Column(Text, nullable=False)
    urgent = Column(Boolean, nullable=False, server_default=text("false"))
    created_at = Column(UTCDateTime, nullable=False)
    delivered_at = Column(UTCDateTime)
    delivered_channel = Column(String(32))
    attempts = Column(Integer, nullable=False, server_default="0")
    __table_args__ = (Index("ix_notifications_pending", "delivered_at", "urgent", "id"),)


class MoodEntry(Base):
    """How someone said they felt, per conversation turn: low moods over a week raise an alert."""

    __tablename__ = "mood_log"
    id = Column(Integer, primary_key=True)
    person_id = Column(ForeignKey("people.id"), index=True)
    conversation_id = Column(String(200), nullable=False)
    channel = Column(String(32))
    mood = Column(String(16), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    __table_args__ = (
        CheckConstraint(_in("mood", ("lonely", "sad", "ok")), name="mood"),
        Index("ix_mood_log_conversation", "conversation_id", "created_at"),
    )


class LinkInvite(Base):
    """A 6-digit code an elder gives a relative: valid 48 h, single use (see care.family)."""

    __tablename__ = "link_invites"
    id = Column(Integer, primary_key=True)
    code = Column(String(6), nullable=False, unique=True)
    elder_id = Column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    created_by = Column(String(120), nullable=False)
    relation_hint = Column(String(40))
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime)
    used_by_id = Column(ForeignKey("people.id"))
    # "family": a relative links with the elder (``elder_id``); "channel": the person
    # ``elder_id`` (elder or relative) links another channel of their own (care.identity).
    purpose = Column(String(16), nullable=False, server_default="family")
    __table_args__ = (CheckConstraint(_in("purpose", ("family", "channel")), name="purpose"),)


class LinkAttempt(Base):
    """A wrong invitation code from one channel identity (hashed), for the brute-force guard."""

    __tablename__ = "link_attempts"
    id = Column(Integer, primary_key=True)
    identity_key = Column(String(64), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    __table_args__ = (Index("ix_link_attempts_identity", "identity_key", "at"),)


# Conversation review's tables live in their own module; importing it registers them here.
from care import models_review as _review  # noqa: E402,F401

# Kept voice turns (recordings) likewise.
from care import models_voice as _voice  # noqa: E402,F401

# Channel plumbing and console accounts likewise; re-exported so that ``care.models.X``
# (``from care import models as m; m.StaffUser``) keeps working everywhere.
from care.models_channels import ChannelInbox, ChannelReceipt, ChannelToken  # noqa: E402,F401
from care.models_staff import (  # noqa: E402,F401
    STAFF_ROLES,
    ApiToken,
    LoginThrottle,
    StaffSession,
    StaffUser,
)
