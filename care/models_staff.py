"""Tables of the staff console's accounts: users, browser sessions, API tokens, throttle.

In their own module so that care.models stays about the care domain; imported (and
re-exported) by care.models, so ``care.models.StaffUser`` keeps working and Alembic sees
them. Hashing and checking live in care.staff_users, not here.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.sql.schema import Column

from care.models_base import Base, UTCDateTime, _in

STAFF_ROLES = ("admin", "staff", "volunteer")


class StaffUser(Base):
    """A console account; the password is kept only as an argon2 hash (care.staff_users)."""

    __tablename__ = "staff_users"
    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False, unique=True)
    role = Column(String(16), nullable=False)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, server_default=text("true"))
    created_at = Column(UTCDateTime, nullable=False)
    __table_args__ = (CheckConstraint(_in("role", STAFF_ROLES), name="role"),)


class StaffSession(Base):
    """A logged-in browser. Only a SHA-256 of the cookie is stored, so a leaked
    database row cannot be replayed as a cookie; every console process shares it."""

    __tablename__ = "staff_sessions"
    token_hash = Column(String(64), primary_key=True)
    user_id = Column(ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False, index=True)


class ApiToken(Base):
    """A bearer token for an integration, created by an admin; stored hashed."""

    __tablename__ = "staff_api_tokens"
    id = Column(Integer, primary_key=True)
    name = Column(String(80), nullable=False, unique=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    role = Column(String(16), nullable=False)
    created_by = Column(String(80), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    revoked_at = Column(UTCDateTime)
    __table_args__ = (CheckConstraint(_in("role", STAFF_ROLES), name="role"),)


class LoginThrottle(Base):
    """Failed console logins counted per key: a hash of the username or of the client
    address. One row per key, raised by an atomic upsert (care.staff_users), so that
    concurrent attempts cannot all read the same count; in the database so that several
    console processes (and a restart) share it."""

    __tablename__ = "staff_login_throttle"
    key = Column(String(64), primary_key=True)
    failures = Column(Integer, nullable=False)
    last_at = Column(UTCDateTime, nullable=False)
    __table_args__ = (Index("ix_staff_login_throttle_last_at", "last_at"),)
