"""One person on several channels: a one-time code said on one channel links another.

An elder who talks to Anxin on WeChat asks for a code ("我想在Telegram上也用"), then
sends it from Telegram: from then on both identities are the same person, so bookings
made on one channel are listed on the other and staff and family see one timeline.
Codes share the family invitations' table, its single use and its guard against
guessing (care.invites), with ``purpose="channel"`` and a short life.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from care import audit, invites
from care import models as m
from care.audit import Actor
from care.clock import Clock
from care.db import Database
from care.errors import IdentityTaken, InvalidCode
from care.people import get_person, person_for
from care.records import InviteRecord, PersonRecord

log = logging.getLogger(__name__)

CHANNEL_CODE_VALID = timedelta(minutes=30)


class Identities:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create_code(self, person_id: int, actor: Actor) -> InviteRecord:
        """A code, valid 30 minutes, that links the channel it is sent from to this person."""
        now = self.clock()
        with self.db.write() as s:
            get_person(s, person_id)
            row = invites.insert_invite(
                s, person_id, actor, None, now, purpose="channel", valid=CHANNEL_CODE_VALID
            )
            audit.record(s, now, actor, "channel_code.create", f"link_invite:{row.id}")
            return InviteRecord.of(row)

    def is_channel_code(self, code: str) -> bool:
        """Whether a code someone typed is a live channel code (nothing is counted)."""
        code = invites.normalise_code(code)
        with self.db.read() as s:
            row = s.scalars(select(m.LinkInvite).where(m.LinkInvite.code == code)).first()
            return row is not None and invites.invalid_reason(row, self.clock(), "channel") is None

    def redeem(self, code: str, channel: str, external_id: str) -> Optional[PersonRecord]:
        """Link (channel, external_id) to the code's person; None if it is no channel code.

        A code of the family kind (or none at all) is left to ``Family.redeem``, which
        counts the wrong ones. A used or expired channel code is counted here and raises
        ``InvalidCode``. An identity that is already somebody else with a history
        (bookings, family links) raises ``IdentityTaken``: staff merge such records.
        """
        now = self.clock()
        failure: Optional[InvalidCode] = None
        with self.db.write() as s:
            key, invite = invites.begin_attempt(s, self.db, channel, external_id, code, now)
            if invite is None or invite.purpose != "channel":
                return None
            here = person_for(s, channel, external_id)
            reason = invites.invalid_reason(invite, now, "channel")
            if reason is not None:
                failure = invites.record_failure(s, key, now, reason, invite, here, channel)
            else:
                person = get_person(s, invite.elder_id)
                if here is not None and here.id != person.id:
                    if _has_history(s, here.id):
                        raise IdentityTaken("this account is already someone else's")
                    s.execute(
                        m.ChannelIdentity.__table__.delete().where(
                            m.ChannelIdentity.channel == channel,
                            m.ChannelIdentity.external_id == external_id,
                        )
                    )
                    here = None
                if here is None:
                    s.add(
                        m.ChannelIdentity(
                            person_id=person.id,
                            channel=channel,
                            external_id=external_id,
                            created_at=now,
                        )
                    )
                invite.used_at, invite.used_by_id = now, person.id
                audit.record(
                    s,
                    now,
                    Actor.person(person.id),
                    "identity.link",
                    f"person:{person.id}",
                    channel=channel,
                    detail={"invite": invite.id},
                )
                linked = PersonRecord.of(person)
        if failure is not None:
            log.info("channel code refused: %s", failure.details["reason"])
            raise failure
        log.info("a channel identity was linked to person %s", linked.id)
        return linked


def _has_history(s: Session, person_id: int) -> bool:
    bookings = s.scalar(
        select(func.count()).select_from(m.Booking).where(m.Booking.elder_id == person_id)
    )
    links = s.scalar(
        select(func.count())
        .select_from(m.FamilyLink)
        .where(or_(m.FamilyLink.elder_id == person_id, m.FamilyLink.family_id == person_id))
    )
    return bool(bookings or links)
