"""Emergencies, crises and requests for a person: alert staff, tell family, in one go.

An emergency message must never wait: the alert and the family notifications are
written in one transaction, before the assistant's first reply goes out. The
assistant's own words live in the Rasa domain; the words sent to family here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import select

from care import models as m
from care.alerts import insert_alert
from care.clock import Clock
from care.config import CareSettings
from care.db import Database
from care.people import person_for
from care.records import AlertRecord, PersonRecord
from care.senders import sender_id

SUMMARY_LIMIT = 300

FAMILY_EMERGENCY = {
    "zh": "【安心紧急提醒】{name}刚才说：“{said}”。我们已请{name}马上拨打{ambulance}，"
    "服务中心工作人员也已收到警报。请您尽快联系{name}。中心电话：{hotline}。",
    "en": '[Anxin urgent] {name} just told us: "{said}". We asked {name} to call {ambulance} '
    "now, and the care centre's staff have been alerted. Please contact {name} as soon as you "
    "can. Centre hotline: {hotline}.",
}


@dataclass(frozen=True)
class SafetyOutcome:
    alert: AlertRecord
    person: Optional[PersonRecord]
    family_notified: list[int] = field(default_factory=list)


class Safety:
    def __init__(self, db: Database, clock: Clock, settings: CareSettings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    def emergency(self, channel: str, external_id: str, said: str) -> SafetyOutcome:
        """Alert staff and notify every linked family member who asked to be told.

        ``external_id`` is the speaker's id on ``channel``; the alert names their
        conversation (care.senders), where staff read and answer it.
        """
        now = self.clock()
        said = said.strip()[:SUMMARY_LIMIT]
        conversation_id = sender_id(channel, external_id)
        with self.db.write() as s:
            person = person_for(s, channel, external_id)
            alert = insert_alert(
                s, now, "emergency", said, person.id if person else None, conversation_id, channel
            )
            notified = []
            if person is not None and person.kind == "elder":
                links = s.scalars(
                    select(m.FamilyLink).where(
                        m.FamilyLink.elder_id == person.id,
                        m.FamilyLink.status == "active",
                        m.FamilyLink.notify.is_(True),
                    )
                )
                for link in links:
                    relative = s.get(m.Person, link.family_id)
                    template = FAMILY_EMERGENCY[relative.preferred_language]
                    s.add(
                        m.Notification(
                            person_id=relative.id,
                            kind="emergency",
                            subject=f"alert:{alert.id}",
                            message=template.format(
                                name=person.name,
                                said=said,
                                ambulance=self.settings.ambulance,
                                hotline=self.settings.centre_hotline,
                            ),
                            urgent=True,
                            created_at=now,
                        )
                    )
                    notified.append(relative.id)
            return SafetyOutcome(alert, PersonRecord.of(person) if person else None, notified)

    def crisis(self, channel: str, external_id: str, said: str) -> SafetyOutcome:
        """Alert staff only: whether family is told is a person's judgement, not a rule's."""
        return self._alert("crisis", channel, external_id, said)

    def handoff(self, channel: str, external_id: str, said: str) -> SafetyOutcome:
        return self._alert("handoff", channel, external_id, said)

    def _alert(self, kind: str, channel: str, external_id: str, said: str) -> SafetyOutcome:
        conversation_id = sender_id(channel, external_id)
        with self.db.write() as s:
            person = person_for(s, channel, external_id)
            alert = insert_alert(
                s,
                self.clock(),
                kind,
                said.strip()[:SUMMARY_LIMIT],
                person.id if person else None,
                conversation_id,
                channel,
            )
            return SafetyOutcome(alert, PersonRecord.of(person) if person else None)

    def pending_notifications(self, person_id: int) -> list[str]:
        with self.db.read() as s:
            rows = s.scalars(
                select(m.Notification)
                .where(m.Notification.person_id == person_id, m.Notification.delivered_at.is_(None))
                .order_by(m.Notification.urgent.desc(), m.Notification.id)
            )
            return [row.message for row in rows]
