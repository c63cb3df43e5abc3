"""Family linking: an elder hands a relative a code, the relative redeems it, the elder agrees.

Nothing is allowed before the elder's yes: redeeming a code only makes a *pending*
link (``care.people.request_link_in``) and puts a question in the elder's outbox.
The codes and the guard against guessing them are in ``care.invites``. Every
message is written to the outbox in the same transaction as the change that caused it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import audit, invites
from care import models as m
from care.audit import Actor
from care.clock import Clock
from care.db import Database
from care.errors import (
    InvalidCode,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    NotPermitted,
    UnknownBooking,
    UnknownElder,
)
from care.people import (
    consent_link_in,
    get_elder,
    get_person,
    person_for,
    register_in,
    request_link_in,
    revoke_link_in,
)
from care.records import BookingRecord, FamilyLinkRecord, InviteRecord, PersonRecord

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")

# What the family member is to the elder (FamilyLink.relation): zh and en display names.
RELATIONS: dict[str, tuple[str, str]] = {
    "son": ("儿子", "son"),
    "daughter": ("女儿", "daughter"),
    "son_in_law": ("女婿", "son-in-law"),
    "daughter_in_law": ("儿媳", "daughter-in-law"),
    "grandson": ("孙子", "grandson"),
    "granddaughter": ("孙女", "granddaughter"),
    "child": ("孩子", "child"),
    "relative": ("亲属", "relative"),
}
# What the family member calls the elder (FamilyLink.elder_called); a general word
# ("parent") also finds the specific ones ("my parent" with only a mother linked).
ELDER_CALLED: dict[str, tuple[str, ...]] = {
    "mother": ("mother",),
    "father": ("father",),
    "mother_in_law": ("mother_in_law",),
    "father_in_law": ("father_in_law",),
    "grandmother": ("grandmother",),
    "grandfather": ("grandfather",),
    "parent": ("parent", "mother", "father"),
    "grandparent": ("grandparent", "grandmother", "grandfather"),
    "relative": ("relative",),
}

LINK_REQUEST = {
    "zh": "您的{relation} {name} 想和您关联，可以替您预约。您同意吗？",
    "en": "{name} (your {relation}) would like to link with you and book for you. Do you agree?",
}
LINK_AGREED = {
    "zh": "{elder}已同意和您关联，您现在可以替{elder}预约了。",
    "en": "{elder} agreed to link with you: you can now book for them.",
}
LINK_DECLINED = {
    "zh": "{elder}没有同意和您关联。",
    "en": "{elder} did not agree to link with you.",
}
BOOKED_FOR = {
    "zh": "您的{relation} {name} 替您订了：{description}",
    "en": "{name} (your {relation}) booked for you: {description}",
}


def relation_name(relation: str, language: str) -> str:
    """The display word for a relation; unknown ones read as "relative"."""
    zh, en = RELATIONS.get(relation, RELATIONS["relative"])
    return zh if language == "zh" else en


class Family:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- invitation codes ---------------------------------------------------------

    def create_invite(
        self, elder_id: int, actor: Actor, relation_hint: Optional[str] = None
    ) -> InviteRecord:
        """A fresh code, valid 48 hours; beyond three live codes the oldest stops working."""
        if relation_hint is not None and relation_hint not in RELATIONS:
            raise InvalidRequest(f"unknown relation {relation_hint!r}", relation=relation_hint)
        if actor.person_id is not None and actor.person_id != elder_id:
            raise NotPermitted("only the elder or staff can invite family", elder_id=elder_id)
        now = self.clock()
        with self.db.write() as s:
            # Lock the elder: two invites at once must not both see room under the cap.
            elder = s.scalars(
                self.db.lock(select(m.Person).where(m.Person.id == elder_id), of=m.Person)
            ).first()
            if elder is None or elder.kind != "elder":
                raise UnknownElder(f"no elder {elder_id}", elder_id=elder_id)
            row = invites.insert_invite(s, elder_id, actor, relation_hint, now)
            audit.record(
                s,
                now,
                actor,
                "link_invite.create",
                f"link_invite:{row.id}",
                on_behalf_of=_behalf(actor, elder_id),
                detail={"relation_hint": relation_hint, "expires_at": row.expires_at.isoformat()},
            )
            invite = InviteRecord.of(row)
        log.info("invite %s created for elder %s", invite.id, elder_id)
        return invite

    def live_invites(self, elder_id: int) -> list[InviteRecord]:
        """Codes the elder has handed out that still work, oldest first."""
        with self.db.read() as s:
            get_elder(s, elder_id)
            return [InviteRecord.of(r) for r in invites.live_invites(s, elder_id, self.clock())]

    def redeem(
        self,
        code: str,
        channel: str,
        external_id: str,
        name: str,
        relation: Optional[str] = None,
        language: str = "zh",
        elder_called: Optional[str] = None,
    ) -> FamilyLinkRecord:
        """The relative behind a channel identity asks to be linked with the code's elder.

        Unknown identities become a family member named ``name`` speaking ``language``.
        Without ``relation`` the elder's hint on the code is used, else "relative".
        Raises ``InvalidCode`` (counted), ``TooManyAttempts`` (not counted) or
        ``InvalidRequest`` (the elder's own code, an elder as family: not counted).
        """
        if relation is not None and relation not in RELATIONS:
            raise InvalidRequest(f"unknown relation {relation!r}", relation=relation)
        if elder_called is not None and elder_called not in ELDER_CALLED:
            raise InvalidRequest(f"unknown form of address {elder_called!r}")
        if language not in LANGUAGES:
            raise InvalidRequest(f"unsupported language {language!r}", language=language)
        now = self.clock()
        failure: Optional[InvalidCode] = None
        with self.db.write() as s:
            key, invite = invites.begin_attempt(s, self.db, channel, external_id, code, now)
            person = person_for(s, channel, external_id)
            reason = invites.invalid_reason(invite, now)
            if reason is not None:
                failure = invites.record_failure(s, key, now, reason, invite, person, channel)
            else:
                assert invite is not None
                link = self._redeem_in(
                    s,
                    now,
                    invite,
                    person,
                    channel,
                    external_id,
                    name,
                    relation,
                    language,
                    elder_called,
                )
        if failure is not None:
            log.info("invitation code refused: %s", failure.details["reason"])
            raise failure
        return link

    # -- the elder's answer -------------------------------------------------------

    def pending_for_elder(self, elder_id: int) -> list[FamilyLinkRecord]:
        """Requests waiting for the elder's yes or no, oldest first."""
        with self.db.read() as s:
            get_elder(s, elder_id)
            rows = s.scalars(
                select(m.FamilyLink)
                .where(m.FamilyLink.elder_id == elder_id, m.FamilyLink.status == "pending")
                .order_by(m.FamilyLink.id)
            )
            return [FamilyLinkRecord.of(r) for r in rows]

    def answer(self, elder_id: int, link_id: int, agree: bool, actor: Actor) -> FamilyLinkRecord:
        """The elder's yes (the link becomes active) or no (revoked); the relative is told."""
        if actor.person_id is not None and actor.person_id != elder_id:
            raise InvalidRequest("only the elder can answer a link request")
        now = self.clock()
        with self.db.write() as s:
            row = s.scalars(
                self.db.lock(
                    select(m.FamilyLink).where(m.FamilyLink.id == link_id), of=m.FamilyLink
                )
            ).first()
            if row is None or row.elder_id != elder_id:
                raise NotFound(f"no family link {link_id} for this elder", link_id=link_id)
            if row.status != "pending":
                raise InvalidTransition(f"the link is {row.status}, not pending")
            if agree:
                consent_link_in(s, now, row, actor)
            else:
                revoke_link_in(s, now, row, actor, action="family_link.decline")
            elder, relative = get_person(s, elder_id), get_person(s, row.family_id)
            lang = _language(relative)
            _notify(
                s,
                now,
                relative,
                "family_link_agreed" if agree else "family_link_declined",
                f"family_link:{row.id}",
                (LINK_AGREED if agree else LINK_DECLINED)[lang].format(elder=elder.name),
            )
            result = FamilyLinkRecord.of(row)
        log.info("family link %s %s", link_id, "agreed" if agree else "declined")
        return result

    # -- linked family at work ------------------------------------------------------

    def elders_of(
        self, family_id: int, relation: Optional[str] = None
    ) -> list[tuple[FamilyLinkRecord, PersonRecord]]:
        """A relative's active links with each elder; ``relation`` is what they call the elder
        ("mother", "grandfather", or the general "parent"/"grandparent")."""
        if relation is not None and relation not in ELDER_CALLED:
            raise InvalidRequest(f"unknown form of address {relation!r}")
        with self.db.read() as s:
            get_person(s, family_id)
            stmt = (
                select(m.FamilyLink, m.Person)
                .join(m.Person, m.Person.id == m.FamilyLink.elder_id)
                .where(m.FamilyLink.family_id == family_id, m.FamilyLink.status == "active")
                .order_by(m.FamilyLink.id)
            )
            if relation is not None:
                stmt = stmt.where(m.FamilyLink.elder_called.in_(ELDER_CALLED[relation]))
            return [(FamilyLinkRecord.of(lk), PersonRecord.of(p)) for lk, p in s.execute(stmt)]

    def notify_booked_for(
        self, booking: BookingRecord, description_zh: str, description_en: str
    ) -> bool:
        """Tell the elder a relative booked for them, in the elder's language.

        Only for bookings made by a linked family member (not by the elder or staff);
        once per booking. Returns whether a message was written.
        """
        now = self.clock()
        with self.db.write() as s:
            row = s.get(m.Booking, booking.id)
            if row is None:
                raise UnknownBooking(f"no booking {booking.id}", booking_id=booking.id)
            by_id = row.booked_by_id
            if by_id is None or by_id == row.elder_id:
                return False
            link = s.scalars(
                select(m.FamilyLink).where(
                    m.FamilyLink.elder_id == row.elder_id, m.FamilyLink.family_id == by_id
                )
            ).first()
            subject = f"booking:{row.id}"
            told = s.scalars(
                select(m.Notification.id).where(
                    m.Notification.person_id == row.elder_id,
                    m.Notification.kind == "booked_for_you",
                    m.Notification.subject == subject,
                )
            ).first()
            if link is None or told is not None:
                return False
            elder, booker = get_person(s, row.elder_id), get_person(s, by_id)
            lang = _language(elder)
            message = BOOKED_FOR[lang].format(
                relation=relation_name(link.relation, lang),
                name=booker.name,
                description=description_zh if lang == "zh" else description_en,
            )
            _notify(s, now, elder, "booked_for_you", subject, message)
            return True

    # -- inside a write transaction -----------------------------------------------

    def _redeem_in(
        self,
        s: Session,
        now: datetime,
        invite: m.LinkInvite,
        person: Optional[m.Person],
        channel: str,
        external_id: str,
        name: str,
        relation: Optional[str],
        language: str,
        elder_called: Optional[str],
    ) -> FamilyLinkRecord:
        if person is not None and person.id == invite.elder_id:
            raise InvalidRequest("this is your own code: give it to your family member")
        if person is None:
            person = register_in(s, now, "family", channel, external_id, name, language)
        actor = Actor.person(person.id)
        relation = relation or invite.relation_hint or "relative"
        before = s.scalars(
            select(m.FamilyLink.status).where(
                m.FamilyLink.elder_id == invite.elder_id, m.FamilyLink.family_id == person.id
            )
        ).first()
        link = request_link_in(
            s, now, invite.elder_id, person.id, relation, actor=actor, elder_called=elder_called
        )
        if before == "active":  # already linked: the code stays usable for someone else
            link.elder_called = elder_called or link.elder_called  # their own word, no rights
            audit.record(
                s,
                now,
                actor,
                "link_invite.redeem",
                f"link_invite:{invite.id}",
                channel=channel,
                on_behalf_of=f"person:{invite.elder_id}",
                detail={"family_link": link.id, "already_linked": True},
            )
            return FamilyLinkRecord.of(link)
        invite.used_at, invite.used_by_id = now, person.id
        audit.record(
            s,
            now,
            actor,
            "link_invite.redeem",
            f"link_invite:{invite.id}",
            channel=channel,
            on_behalf_of=f"person:{invite.elder_id}",
            detail={"family_link": link.id, "relation": relation},
        )
        elder = get_person(s, invite.elder_id)
        lang = _language(elder)
        message = LINK_REQUEST[lang].format(
            relation=relation_name(relation, lang), name=person.name
        )
        _notify(s, now, elder, "family_link_request", f"family_link:{link.id}", message)
        log.info("invite %s redeemed: family link %s pending", invite.id, link.id)
        return FamilyLinkRecord.of(link)


def _language(person: m.Person) -> str:
    return person.preferred_language if person.preferred_language in LANGUAGES else "zh"


def _notify(
    s: Session, now: datetime, person: m.Person, kind: str, subject: str, message: str
) -> None:
    s.add(
        m.Notification(
            person_id=person.id, kind=kind, subject=subject, message=message, created_at=now
        )
    )


def _behalf(actor: Actor, elder_id: int) -> Optional[str]:
    return None if actor.person_id == elder_id else f"person:{elder_id}"
