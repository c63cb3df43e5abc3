"""Staff console accounts: argon2 password hashes, logins, and the login throttle.

The throttle counts failed logins per username and per client address in the
database (``staff_login_throttle``), so every console process and a restart see
the same count. Both keys are stored as SHA-256 hashes: the table never holds a
mistyped password someone entered as a username, nor an address.

An attempt is counted as a failure *before* its password is checked, by an atomic
upsert whose row lock (PostgreSQL) or write lock (SQLite) is held until the count is
judged: thirty concurrent guesses cannot all read "no failures yet" (they did when the
count was read first and written after the quarter-second hash check). A right password
then takes its attempt back.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import Insert

from care import audit
from care import models as m
from care.audit import Actor
from care.clock import Clock
from care.db import Database
from care.errors import InvalidRequest, NotFound

log = logging.getLogger(__name__)

ROLES = m.STAFF_ROLES
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class StaffUserRecord:
    id: int
    username: str
    role: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class ThrottleRules:
    """How many failures lock a username, or a client address, and for how long: the
    count starts again once ``window`` has passed since the last counted failure."""

    per_username: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


class _Throttled(Exception):
    """Rolls back a reservation that went past a limit."""


@dataclass(frozen=True)
class LoginResult:
    user: Optional[StaffUserRecord]
    throttled: bool = False


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def _record(row: m.StaffUser) -> StaffUserRecord:
    return StaffUserRecord(row.id, row.username, row.role, bool(row.active), row.created_at)


def normalise_username(username: str) -> str:
    return username.strip().lower()


class StaffUsers:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        rules: ThrottleRules = ThrottleRules(),
        hasher: Optional[PasswordHasher] = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules
        self.hasher = hasher or PasswordHasher()
        # Verified against when the username does not exist, so a login takes as long
        # for an unknown name as for a wrong password (no username probing by timing).
        # Made on first use: hashing costs a quarter of a second.
        self._dummy: Optional[str] = None

    # -- accounts --------------------------------------------------------------

    def create(
        self, username: str, role: str, password: str, by: Actor | str = audit.SYSTEM
    ) -> StaffUserRecord:
        username = normalise_username(username)
        if not USERNAME.match(username):
            raise InvalidRequest(
                "a username is 2-80 characters: lower-case letters, digits, '.', '_' or '-'"
            )
        if role not in ROLES:
            raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise InvalidRequest(f"a password has at least {MIN_PASSWORD} characters")
        hashed = self.hasher.hash(password)
        now = self.clock()
        with self.db.write() as s:
            if s.scalar(select(m.StaffUser.id).where(m.StaffUser.username == username)):
                raise InvalidRequest(f"there is already a user {username!r}")
            row = m.StaffUser(
                username=username, role=role, password_hash=hashed, active=True, created_at=now
            )
            s.add(row)
            s.flush()
            detail = {"role": role}
            audit.record(s, now, by, "staff.create_user", f"staff:{username}", detail=detail)
            return _record(row)

    def set_password(self, username: str, password: str, by: Actor | str = audit.SYSTEM) -> None:
        if len(password) < MIN_PASSWORD:
            raise InvalidRequest(f"a password has at least {MIN_PASSWORD} characters")
        hashed = self.hasher.hash(password)
        now = self.clock()
        with self.db.write() as s:
            row = self._by_name(s, normalise_username(username))
            row.password_hash = hashed
            # A new password ends every session of the old one.
            s.execute(delete(m.StaffSession).where(m.StaffSession.user_id == row.id))
            audit.record(s, now, by, "staff.set_password", f"staff:{row.username}")

    def set_active(self, username: str, active: bool, by: Actor | str = audit.SYSTEM) -> None:
        now = self.clock()
        with self.db.write() as s:
            row = self._by_name(s, normalise_username(username))
            row.active = active
            if not active:
                s.execute(delete(m.StaffSession).where(m.StaffSession.user_id == row.id))
            action = "staff.enable_user" if active else "staff.disable_user"
            audit.record(s, now, by, action, f"staff:{row.username}")

    def all(self) -> list[StaffUserRecord]:
        with self.db.read() as s:
            return [_record(r) for r in s.scalars(select(m.StaffUser).order_by(m.StaffUser.id))]

    @staticmethod
    def _by_name(s: object, username: str) -> m.StaffUser:
        row = s.scalars(  # type: ignore[attr-defined]
            select(m.StaffUser).where(m.StaffUser.username == username)
        ).first()
        if row is None:
            raise NotFound(f"no user {username!r}")
        return row

    # -- logging in ------------------------------------------------------------

    def login(self, username: str, password: str, address: str) -> LoginResult:
        """Check a password unless the username or the address is throttled.

        A throttled attempt is refused without verifying the password, so guessing
        stops and argon2's cost cannot be used to load the server.
        """
        username = normalise_username(username)
        now = self.clock()
        user_key, addr_key = _key("user", username), _key("addr", address)
        if not self._reserve({user_key: self.rules.per_username,
                              addr_key: self.rules.per_address}, now):  # fmt: skip
            log.warning("staff login refused: too many failed attempts")
            return LoginResult(None, throttled=True)
        with self.db.read() as s:
            row = s.scalars(select(m.StaffUser).where(m.StaffUser.username == username)).first()
        if row is not None and row.active and self._verify(row.password_hash, password):
            with self.db.write() as s:
                # As before: the name's failures are forgiven; the address keeps its
                # earlier ones, less this attempt's reservation.
                s.execute(delete(m.LoginThrottle).where(m.LoginThrottle.key == user_key))
                s.execute(
                    update(m.LoginThrottle)
                    .where(m.LoginThrottle.key == addr_key, m.LoginThrottle.failures > 0)
                    .values(failures=m.LoginThrottle.failures - 1)
                )
                if self.hasher.check_needs_rehash(row.password_hash):
                    fresh = s.get(m.StaffUser, row.id)
                    fresh.password_hash = self.hasher.hash(password)
                audit.record(s, now, Actor.staff_user(row.username), "staff.login", "console")
            return LoginResult(_record(row))
        if row is None:
            self._dummy = self._dummy or self.hasher.hash("not a real password")
            self._verify(self._dummy, password)
        self._forget_stale(now - self.rules.window)
        log.info("staff login failed")  # neither the name nor the address: no personal data
        return LoginResult(None)

    def _reserve(self, limits: dict[str, int], now: datetime) -> bool:
        """Count one more failure for each key, unless that takes a key past its limit:
        then nothing is counted (the transaction is rolled back) and False is returned.

        The upsert takes the key's row lock on PostgreSQL (SQLite's writer already holds
        the database), so a concurrent attempt on the same key waits here and then
        counts from this one's result. Keys are raised in one order everywhere, so two
        attempts cannot wait on each other.
        """
        try:
            with self.db.write() as s:
                for key in sorted(limits):
                    s.execute(self._count_attempt(key, now))
                counts = dict(
                    s.execute(
                        select(m.LoginThrottle.key, m.LoginThrottle.failures).where(
                            m.LoginThrottle.key.in_(list(limits))
                        )
                    ).all()
                )
                if any(counts[key] > limit for key, limit in limits.items()):
                    raise _Throttled()
        except _Throttled:
            return False
        return True

    def _count_attempt(self, key: str, now: datetime) -> Insert:
        t = m.LoginThrottle
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        stmt = insert(t).values(key=key, failures=1, last_at=now)
        recent = t.last_at > now - self.rules.window
        return stmt.on_conflict_do_update(
            index_elements=[t.key],
            set_={"failures": case((recent, t.failures + 1), else_=1), "last_at": now},
        )

    def _forget_stale(self, since: datetime) -> None:
        """Drop counters whose window has passed (a few hundred at a time).

        On its own, after the attempt: on PostgreSQL it skips rows another attempt holds
        rather than waiting for them, so it can never deadlock with a reservation."""
        t = m.LoginThrottle
        stale = select(t.key).where(t.last_at <= since).limit(500)
        if not self.db.is_sqlite:
            stale = stale.with_for_update(skip_locked=True)
        with self.db.write() as s:
            keys = list(s.scalars(stale))
            if keys:
                s.execute(delete(t).where(t.key.in_(keys), t.last_at <= since))

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(hashed, password))
        except (VerificationError, InvalidHashError):
            return False
