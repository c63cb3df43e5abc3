"""Who is asking the staff console: browser sessions and integration API tokens.

Both are random secrets handed out once; the database keeps only their SHA-256,
so a copy of the database cannot be used to log in. Sessions live in the
database so that several console processes behind one address share them and
logging out ends a session everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select

from care import audit
from care import models as m
from care.audit import Actor
from care.clock import Clock
from care.db import Database
from care.errors import InvalidRequest, NotFound

TOKEN_PREFIX = "anx_"


@dataclass(frozen=True)
class Principal:
    """The one making a console request, with what the audit log calls them."""

    name: str
    role: str
    via: str  # "session" or "token"
    csrf_token: Optional[str] = None

    @property
    def actor(self) -> str:
        return f"staff:{self.name}" if self.via == "session" else f"token:{self.name}"


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    principal: Principal
    expires_at: datetime


@dataclass(frozen=True)
class ApiTokenRecord:
    id: int
    name: str
    role: str
    created_by: str
    created_at: datetime
    revoked_at: Optional[datetime]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class StaffSessions:
    def __init__(self, db: Database, clock: Clock, lifetime: timedelta) -> None:
        self.db = db
        self.clock = clock
        self.lifetime = lifetime

    # -- browser sessions --------------------------------------------------------

    def start(self, user_id: int) -> NewSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + self.lifetime
        with self.db.write() as s:
            user = s.get(m.StaffUser, user_id)
            if user is None or not user.active:
                raise InvalidRequest("no such active user")
            s.execute(delete(m.StaffSession).where(m.StaffSession.expires_at <= now))
            s.add(
                m.StaffSession(
                    token_hash=digest(token),
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
            principal = Principal(user.username, user.role, "session", csrf)
        return NewSession(token, csrf, principal, expires)

    def lookup(self, token: str) -> Optional[Principal]:
        if not token:
            return None
        with self.db.read() as s:
            row = s.execute(
                select(m.StaffUser.username, m.StaffUser.role, m.StaffSession.csrf_token)
                .join(m.StaffSession, m.StaffSession.user_id == m.StaffUser.id)
                .where(
                    m.StaffSession.token_hash == digest(token),
                    m.StaffSession.expires_at > self.clock(),
                    m.StaffUser.active.is_(True),
                )
            ).first()
        return Principal(row[0], row[1], "session", row[2]) if row else None

    def end(self, token: str) -> None:
        with self.db.write() as s:
            s.execute(delete(m.StaffSession).where(m.StaffSession.token_hash == digest(token)))

    # -- integration tokens ------------------------------------------------------

    def create_token(self, name: str, role: str, by: Actor | str) -> str:
        """A new bearer token; the plain value is returned here and never again."""
        name = name.strip()
        if not name or len(name) > 80:
            raise InvalidRequest("a token needs a name of 1-80 characters")
        if role not in m.STAFF_ROLES or role == "admin":
            # Integrations read data; managing users stays with people who log in.
            raise InvalidRequest("a token's role is staff or volunteer")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.write() as s:
            if s.scalar(select(m.ApiToken.id).where(m.ApiToken.name == name)):
                raise InvalidRequest(f"there is already a token named {name!r}")
            s.add(
                m.ApiToken(
                    name=name,
                    token_hash=digest(token),
                    role=role,
                    created_by=by.label if isinstance(by, Actor) else by,
                    created_at=now,
                )
            )
            audit.record(s, now, by, "staff.create_token", f"token:{name}", detail={"role": role})
        return token

    def revoke_token(self, token_id: int, by: Actor | str) -> None:
        now = self.clock()
        with self.db.write() as s:
            row = s.get(m.ApiToken, token_id)
            if row is None:
                raise NotFound(f"no token {token_id}")
            row.revoked_at = row.revoked_at or now
            audit.record(s, now, by, "staff.revoke_token", f"token:{row.name}")

    def token_principal(self, token: str) -> Optional[Principal]:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self.db.read() as s:
            row = s.execute(
                select(m.ApiToken.name, m.ApiToken.role).where(
                    m.ApiToken.token_hash == digest(token), m.ApiToken.revoked_at.is_(None)
                )
            ).first()
        return Principal(row[0], row[1], "token") if row else None

    def tokens(self) -> list[ApiTokenRecord]:
        with self.db.read() as s:
            rows = s.scalars(select(m.ApiToken).order_by(m.ApiToken.id))
            return [
                ApiTokenRecord(r.id, r.name, r.role, r.created_by, r.created_at, r.revoked_at)
                for r in rows
            ]
