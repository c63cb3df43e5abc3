"""A location a person shared on a channel, kept as a hint for their address.

Staff confirm addresses; a shared location only fills an empty address (or replaces an
earlier hint), never one staff or the person entered. Someone we do not know yet has
the hint kept (shared between processes, in the channel token table) until they are
known, then it is applied.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.clock import Clock
from care.db import Database
from care.people import person_for

MARK = "[位置] "  # an address that came from a shared location, not from a person
KEEP_PENDING = timedelta(days=30)


def describe(label: str, latitude: str, longitude: str) -> str:
    where = label.strip() or "（无地名）"
    return f"{MARK}{where} ({latitude.strip()},{longitude.strip()})"[:500]


def note(db: Database, clock: Clock, channel: str, external_id: str, hint: str) -> bool:
    """Record ``hint`` for the person behind the identity; False if they are not known yet."""
    now = clock()
    with db.write() as s:
        person = person_for(s, channel, external_id)
        if person is None:
            name = _pending(channel, external_id)
            row = s.get(m.ChannelToken, name)
            if row is None:
                s.add(m.ChannelToken(name=name, value=hint, expires_at=now + KEEP_PENDING))
            else:
                row.value, row.expires_at = hint, now + KEEP_PENDING
            return False
        _apply(s, now, person, hint, channel)
        return True


def apply_pending(db: Database, clock: Clock, channel: str, external_id: str) -> bool:
    """A hint kept for someone who is now known goes onto their record."""
    now = clock()
    with db.write() as s:
        row = s.get(m.ChannelToken, _pending(channel, external_id))
        if row is None:
            return False
        person = person_for(s, channel, external_id)
        if person is None:
            return False
        if row.expires_at > now:
            _apply(s, now, person, str(row.value), channel)
        s.delete(row)
        return True


def address_of(db: Database, channel: str, external_id: str) -> Optional[str]:
    with db.read() as s:
        person = person_for(s, channel, external_id)
        return None if person is None else person.address


def _apply(s: Session, now: datetime, person: m.Person, hint: str, channel: str) -> None:
    if person.address and not person.address.startswith(MARK):
        return  # a real address stays
    person.address = hint
    audit.record(s, now, audit.SYSTEM, "person.address_hint", f"person:{person.id}", channel)


def _pending(channel: str, external_id: str) -> str:
    return f"address-hint:{channel}:{external_id}"[:64]
