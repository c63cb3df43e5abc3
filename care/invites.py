"""Invitation codes and the guard against guessing them (used by ``care.family``).

A code is 6 digits from ``secrets``, single use, valid 48 hours; an elder has at
most three live codes. Wrong codes are stored per channel identity (hashed) in
``link_attempts``, so the guard holds across processes: five wrong codes less
than 15 minutes apart lock that identity out until 15 minutes after the last.
Every function here works inside the caller's write transaction.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.db import Database
from care.errors import CareError, InvalidCode, TooManyAttempts

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_VALID = timedelta(hours=48)
MAX_LIVE_CODES = 3
LOCK_AFTER = 5  # wrong codes ...
ATTEMPT_WINDOW = timedelta(minutes=15)  # ... less than this apart ...
LOCKOUT = timedelta(minutes=15)  # ... refuse further codes for this long after the last
_CODE_TRIES = 20


def normalise_code(code: str) -> str:
    """Digits only: full-width digits, spaces and dashes (as people type codes) are forgiven."""
    code = code.translate({0xFF10 + d: str(d) for d in range(10)})
    return "".join(ch for ch in code if ch not in " -\u3000")


def identity_key(channel: str, external_id: str) -> str:
    """The attempt counter's key: a hash, so the guard's table holds no channel ids."""
    return hashlib.sha256(f"{channel}\x00{external_id}".encode()).hexdigest()


def live_invites(
    s: Session, elder_id: int, now: datetime, purpose: str = "family"
) -> list[m.LinkInvite]:
    return list(
        s.scalars(
            select(m.LinkInvite)
            .where(
                m.LinkInvite.elder_id == elder_id,
                m.LinkInvite.purpose == purpose,
                m.LinkInvite.used_at.is_(None),
                m.LinkInvite.expires_at > now,
            )
            .order_by(m.LinkInvite.created_at, m.LinkInvite.id)
        )
    )


def insert_invite(
    s: Session,
    elder_id: int,
    actor: Actor,
    relation_hint: Optional[str],
    now: datetime,
    purpose: str = "family",
    valid: timedelta = CODE_VALID,
) -> m.LinkInvite:
    """A new code; beyond the cap the oldest live ones expire now (the elder row is locked)."""
    live = live_invites(s, elder_id, now, purpose)
    for old in live[: max(0, len(live) - MAX_LIVE_CODES + 1)]:
        old.expires_at = now
        audit.record(s, now, actor, "link_invite.expire", f"link_invite:{old.id}")
    for _ in range(_CODE_TRIES):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if s.scalars(select(m.LinkInvite.id).where(m.LinkInvite.code == code)).first():
            continue
        row = m.LinkInvite(
            code=code,
            elder_id=elder_id,
            created_by=actor.label,
            relation_hint=relation_hint,
            created_at=now,
            expires_at=now + valid,
            purpose=purpose,
        )
        try:
            with s.begin_nested():  # a code taken by a concurrent invite: draw again
                s.add(row)
        except IntegrityError:
            continue
        return row
    raise CareError("no free invitation code found; try again")


def find_invite(s: Session, db: Database, code: str) -> Optional[m.LinkInvite]:
    """The invite behind a normalised code, locked until commit (a code is used once)."""
    if len(code) != CODE_DIGITS or not code.isdigit():
        return None
    stmt = select(m.LinkInvite).where(m.LinkInvite.code == code)
    return s.scalars(db.lock(stmt, of=m.LinkInvite)).first()


def invalid_reason(
    invite: Optional[m.LinkInvite], now: datetime, purpose: str = "family"
) -> Optional[str]:
    if invite is None or invite.purpose != purpose:
        return "unknown"
    if invite.used_at is not None:
        return "used"
    if now >= invite.expires_at:
        return "expired"
    return None


def serialise(s: Session, db: Database, key: str) -> None:
    """One redeem at a time per identity, so parallel guesses cannot slip past the count."""
    if not db.is_sqlite:  # SQLite writers are serial already (BEGIN IMMEDIATE)
        lock_id = int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)
        s.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def refuse_if_locked(s: Session, key: str, now: datetime) -> None:
    """Raise ``TooManyAttempts`` while the identity is locked out; forget stale attempts."""
    s.execute(
        delete(m.LinkAttempt)
        .where(
            m.LinkAttempt.identity_key == key, m.LinkAttempt.at <= now - ATTEMPT_WINDOW - LOCKOUT
        )
        .execution_options(synchronize_session=False)
    )
    recent = list(
        s.scalars(
            select(m.LinkAttempt.at)
            .where(m.LinkAttempt.identity_key == key)
            .order_by(m.LinkAttempt.at.desc())
            .limit(LOCK_AFTER)
        )
    )
    if len(recent) == LOCK_AFTER and recent[0] - recent[-1] < ATTEMPT_WINDOW:
        retry_at = recent[0] + LOCKOUT
        if now < retry_at:
            log.warning("invitation codes locked out until %s", retry_at.isoformat())
            raise TooManyAttempts("too many wrong codes: try again later", retry_at=retry_at)


def begin_attempt(
    s: Session, db: Database, channel: str, external_id: str, code: str, now: datetime
) -> tuple[str, Optional[m.LinkInvite]]:
    """Open one redemption attempt: serialised per identity, refused while it is locked
    out; returns the identity's key (for ``record_failure``) and the code's invite."""
    key = identity_key(channel, external_id)
    serialise(s, db, key)
    refuse_if_locked(s, key, now)
    return key, find_invite(s, db, normalise_code(code))


def record_failure(
    s: Session,
    key: str,
    now: datetime,
    reason: str,
    invite: Optional[m.LinkInvite],
    person: Optional[m.Person],
    channel: str,
) -> InvalidCode:
    """Count and audit a wrong code; the error to raise once this transaction commits."""
    s.add(m.LinkAttempt(identity_key=key, at=now))
    s.flush()
    wrong = s.scalars(
        select(m.LinkAttempt.id).where(
            m.LinkAttempt.identity_key == key, m.LinkAttempt.at > now - ATTEMPT_WINDOW
        )
    ).all()
    audit.record(
        s,
        now,
        Actor.person(person.id) if person is not None else "unknown",
        "link_invite.refuse",
        f"link_invite:{invite.id}" if invite is not None else "link_invite:unknown",
        channel=channel,
        detail={"reason": reason},
    )
    return InvalidCode(
        f"that code is {reason}", reason=reason, attempts_left=max(0, LOCK_AFTER - len(wrong))
    )
