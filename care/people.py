"""Elders, family members, their channel identities and family links (with consent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.clock import Clock
from care.db import Database
from care.errors import InvalidRequest, InvalidTransition, NotFound, UnknownElder, UnknownPerson
from care.records import FamilyLinkRecord, PersonRecord

PERSON_FIELDS = {
    "phone",
    "preferred_language",
    "dietary_needs",
    "mobility_needs",
    "needs_transport",
    "community",
    "address",
    "interests",
    "consent_data",
    "consent_family_notify",
    "consent_voice_recording",
}


def get_person(session: Session, person_id: int) -> m.Person:
    row = session.get(m.Person, person_id)
    if row is None:
        raise UnknownPerson(f"no person {person_id}", person_id=person_id)
    return row


def get_elder(session: Session, elder_id: int) -> m.Person:
    row = session.get(m.Person, elder_id)
    if row is None or row.kind != "elder":
        raise UnknownElder(f"no elder {elder_id}", elder_id=elder_id)
    return row


def person_for(s: Session, channel: str, external_id: str) -> Optional[m.Person]:
    """The person behind a channel identity (WeChat openid, Telegram user id, ...)."""
    return s.scalars(
        select(m.Person)
        .join(m.ChannelIdentity, m.ChannelIdentity.person_id == m.Person.id)
        .where(m.ChannelIdentity.channel == channel, m.ChannelIdentity.external_id == external_id)
    ).first()


def active_link(session: Session, elder_id: int, family_id: int) -> Optional[m.FamilyLink]:
    return session.scalars(
        select(m.FamilyLink).where(
            m.FamilyLink.elder_id == elder_id,
            m.FamilyLink.family_id == family_id,
            m.FamilyLink.status == "active",
        )
    ).first()


class People:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(
        self, kind: str, name: str, actor: Actor = audit.SYSTEM, **fields: Any
    ) -> PersonRecord:
        unknown = set(fields) - PERSON_FIELDS
        if unknown:
            raise InvalidRequest(f"unknown person fields: {sorted(unknown)}")
        if kind not in m.PERSON_KINDS:
            raise InvalidRequest(f"unknown person kind {kind!r}")
        if not name.strip():
            raise InvalidRequest("a person needs a name")
        now = self.clock()
        with self.db.write() as s:
            row = m.Person(kind=kind, name=name.strip(), created_at=now, **fields)
            s.add(row)
            s.flush()
            audit.record(s, now, actor, "person.create", f"person:{row.id}", detail={"kind": kind})
            return PersonRecord.of(row)

    def get(self, person_id: int) -> PersonRecord:
        with self.db.read() as s:
            return PersonRecord.of(get_person(s, person_id))

    def add_identity(
        self, person_id: int, channel: str, external_id: str, actor: Actor = audit.SYSTEM
    ) -> None:
        now = self.clock()
        try:
            with self.db.write() as s:
                get_person(s, person_id)
                s.add(
                    m.ChannelIdentity(
                        person_id=person_id,
                        channel=channel,
                        external_id=external_id,
                        created_at=now,
                    )
                )
                audit.record(s, now, actor, "identity.add", f"person:{person_id}", channel=channel)
        except IntegrityError:
            raise InvalidRequest(
                f"that {channel} identity already belongs to someone", channel=channel
            ) from None

    def find_by_identity(self, channel: str, external_id: str) -> Optional[PersonRecord]:
        with self.db.read() as s:
            row = person_for(s, channel, external_id)
            return PersonRecord.of(row) if row else None

    def register_elder(
        self, channel: str, external_id: str, name: str, preferred_language: str = "zh"
    ) -> PersonRecord:
        """The person behind a channel identity, created as an elder on first contact."""
        now = self.clock()
        with self.db.write() as s:
            known = person_for(s, channel, external_id)
            if known is not None:
                return PersonRecord.of(known)
            row = register_in(s, now, "elder", channel, external_id, name, preferred_language)
            return PersonRecord.of(row)

    def request_link(
        self,
        elder_id: int,
        family_id: int,
        relation: str,
        can_book: bool = True,
        can_cancel: bool = True,
        notify: bool = True,
        actor: Actor = audit.SYSTEM,
        elder_called: Optional[str] = None,
    ) -> FamilyLinkRecord:
        """A pending link: nothing is allowed until the elder consents."""
        with self.db.write() as s:
            row = request_link_in(
                s,
                self.clock(),
                elder_id,
                family_id,
                relation,
                can_book=can_book,
                can_cancel=can_cancel,
                notify=notify,
                actor=actor,
                elder_called=elder_called,
            )
            return FamilyLinkRecord.of(row)

    def consent_link(self, link_id: int, by: Actor) -> FamilyLinkRecord:
        """The elder (or staff on the elder's word) agrees: the link becomes active."""
        with self.db.write() as s:
            return FamilyLinkRecord.of(consent_link_in(s, self.clock(), get_link(s, link_id), by))

    def revoke_link(self, link_id: int, by: Actor) -> FamilyLinkRecord:
        with self.db.write() as s:
            return FamilyLinkRecord.of(revoke_link_in(s, self.clock(), get_link(s, link_id), by))

    def links_of(self, person_id: int) -> list[FamilyLinkRecord]:
        with self.db.read() as s:
            rows = s.scalars(
                select(m.FamilyLink)
                .where((m.FamilyLink.elder_id == person_id) | (m.FamilyLink.family_id == person_id))
                .order_by(m.FamilyLink.id)
            )
            return [FamilyLinkRecord.of(r) for r in rows]


# -- inside a caller's write transaction (care.family adds its outbox) ------------------


def register_in(
    s: Session,
    now: datetime,
    kind: str,
    channel: str,
    external_id: str,
    name: str,
    preferred_language: str,
) -> m.Person:
    """A new person behind a channel identity the caller has checked is unknown."""
    if not name.strip():
        raise InvalidRequest("a person needs a name")
    row = m.Person(
        kind=kind, name=name.strip()[:120], preferred_language=preferred_language, created_at=now
    )
    s.add(row)
    s.flush()
    s.add(
        m.ChannelIdentity(
            person_id=row.id, channel=channel, external_id=external_id, created_at=now
        )
    )
    audit.record(
        s, now, Actor.person(row.id), "person.register", f"person:{row.id}", channel=channel
    )
    return row


def get_link(session: Session, link_id: int) -> m.FamilyLink:
    row = session.get(m.FamilyLink, link_id)
    if row is None:
        raise NotFound(f"no family link {link_id}", link_id=link_id)
    return row


def request_link_in(
    s: Session,
    now: datetime,
    elder_id: int,
    family_id: int,
    relation: str,
    *,
    can_book: bool = True,
    can_cancel: bool = True,
    notify: bool = True,
    actor: Actor = audit.SYSTEM,
    elder_called: Optional[str] = None,
) -> m.FamilyLink:
    """A pending link (an active one is returned unchanged): nothing allowed until consent."""
    get_elder(s, elder_id)
    family = get_person(s, family_id)
    if family.kind != "family":
        raise InvalidRequest("only a family member can be linked to an elder")
    row = s.scalars(
        select(m.FamilyLink).where(
            m.FamilyLink.elder_id == elder_id, m.FamilyLink.family_id == family_id
        )
    ).first()
    if row is None:
        row = m.FamilyLink(elder_id=elder_id, family_id=family_id, created_at=now)
        s.add(row)
    elif row.status == "active":
        return row
    row.relation, row.elder_called = relation, elder_called
    row.can_book, row.can_cancel, row.notify = can_book, can_cancel, notify
    row.status, row.consented_at, row.consented_by_id, row.revoked_at = (
        "pending",
        None,
        None,
        None,
    )
    s.flush()
    audit.record(
        s,
        now,
        actor,
        "family_link.request",
        f"family_link:{row.id}",
        on_behalf_of=f"person:{elder_id}",
        detail={"relation": relation},
    )
    return row


def consent_link_in(s: Session, now: datetime, row: m.FamilyLink, by: Actor) -> m.FamilyLink:
    if by.person_id is not None and by.person_id != row.elder_id:
        raise InvalidRequest("only the elder can consent to a family link")
    if row.status != "pending":
        raise InvalidTransition(f"the link is {row.status}, not pending")
    row.status, row.consented_at = "active", now
    row.consented_by_id = by.person_id if by.person_id is not None else row.elder_id
    audit.record(
        s,
        now,
        by,
        "family_link.consent",
        f"family_link:{row.id}",
        on_behalf_of=f"person:{row.elder_id}",
    )
    return row


def revoke_link_in(
    s: Session, now: datetime, row: m.FamilyLink, by: Actor, action: str = "family_link.revoke"
) -> m.FamilyLink:
    """Revoke (or, with ``action="family_link.decline"``, turn down a pending request)."""
    if by.person_id is not None and by.person_id not in (row.elder_id, row.family_id):
        raise InvalidRequest("only the elder or the family member can revoke a link")
    if row.status != "revoked":
        row.status, row.revoked_at = "revoked", now
        audit.record(
            s, now, by, action, f"family_link:{row.id}", on_behalf_of=f"person:{row.elder_id}"
        )
    return row
