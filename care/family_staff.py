"""Staff approve a pending family link (on the elder's word) or end one, from the console.

The elder's own yes and no live in ``care.family``; this is the same change made by
a staff member, with the reason for an ending kept in the audit row. Both people are
told through the outbox, each in their own language, in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.clock import Clock
from care.db import Database
from care.errors import InvalidRequest, InvalidTransition, NotFound
from care.family import _language, _notify, relation_name
from care.people import consent_link_in, get_person
from care.records import FamilyLinkRecord

log = logging.getLogger(__name__)

MAX_REASON = 500

APPROVED_ELDER = {
    "zh": "工作人员已为您和{relation}{name}办好关联，{name}现在可以替您预约了。",
    "en": "Staff linked you with {name} (your {relation}). They can now book for you.",
}
APPROVED_FAMILY = {
    "zh": "您和{elder}的关联已经办好，您现在可以替{elder}预约了。",
    "en": "Your link with {elder} is confirmed. You can now book for them.",
}
REVOKED_ELDER = {
    "zh": "工作人员已取消您和{relation}{name}的关联，{name}不能再替您预约了。",
    "en": "Staff ended your link with {name} (your {relation}). They can no longer book for you.",
}
REVOKED_FAMILY = {
    "zh": "您和{elder}的关联已经取消，您不能再替{elder}预约了。有疑问请联系服务中心。",
    "en": "Your link with {elder} has ended. You can no longer book for them. "
    "Questions? Please contact the care centre.",
}


class FamilyStaff:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def approve(self, elder_id: int, link_id: int, staff: str) -> FamilyLinkRecord:
        """A pending link becomes active (the elder said yes to staff); 409 otherwise."""
        now = self.clock()
        actor = Actor.staff_user(staff)
        with self.db.write() as s:
            row = self._locked(s, elder_id, link_id)
            if row.status != "pending":
                raise InvalidTransition(f"the link is {row.status}, not pending", status=row.status)
            consent_link_in(s, now, row, actor)
            self._tell(s, now, row, "family_link_approved", APPROVED_ELDER, APPROVED_FAMILY)
            result = FamilyLinkRecord.of(row)
        log.info("family link %s approved by staff", link_id)
        return result

    def revoke(self, elder_id: int, link_id: int, staff: str, reason: str) -> FamilyLinkRecord:
        """A pending or active link ends at once: no booking for the elder after this."""
        reason = " ".join(reason.split())
        now = self.clock()
        with self.db.write() as s:
            # In this order: an unknown link is a 404, a second ending a 409, and only
            # then is the form itself judged (rolled back: nothing is half-written).
            row = self._locked(s, elder_id, link_id)
            if row.status == "revoked":
                raise InvalidTransition("the link is already revoked", status=row.status)
            if not reason:
                raise InvalidRequest("a reason is needed to end a family link")
            if len(reason) > MAX_REASON:
                raise InvalidRequest(f"the reason is longer than {MAX_REASON} characters")
            before = row.status
            # Not care.people.revoke_link_in: that one is quietly idempotent and has no
            # room for the reason, which staff must give and the audit row must keep.
            row.status, row.revoked_at = "revoked", now
            audit.record(
                s,
                now,
                Actor.staff_user(staff),
                "family_link.revoke",
                f"family_link:{row.id}",
                on_behalf_of=f"person:{row.elder_id}",
                detail={"reason": reason, "was": before},
            )
            self._tell(s, now, row, "family_link_revoked", REVOKED_ELDER, REVOKED_FAMILY)
            result = FamilyLinkRecord.of(row)
        log.info("family link %s revoked by staff", link_id)
        return result

    def _locked(self, s: Session, elder_id: int, link_id: int) -> m.FamilyLink:
        # Locked until commit: two staff pressing at once get one change and one 409.
        stmt = select(m.FamilyLink).where(m.FamilyLink.id == link_id)
        row = s.scalars(
            self.db.lock(stmt, of=m.FamilyLink).execution_options(populate_existing=True)
        ).first()
        if row is None or row.elder_id != elder_id:
            raise NotFound(f"no family link {link_id} for this elder", link_id=link_id)
        return row

    @staticmethod
    def _tell(
        s: Session,
        now: datetime,
        row: m.FamilyLink,
        kind: str,
        to_elder: dict[str, str],
        to_family: dict[str, str],
    ) -> None:
        elder, relative = get_person(s, row.elder_id), get_person(s, row.family_id)
        subject = f"family_link:{row.id}"
        lang = _language(elder)
        to_them = to_elder[lang].format(
            relation=relation_name(row.relation, lang), name=relative.name
        )
        _notify(s, now, elder, kind, subject, to_them)
        to_relative = to_family[_language(relative)].format(elder=elder.name)
        _notify(s, now, relative, kind, subject, to_relative)
