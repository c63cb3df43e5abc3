"""Emergencies, crises and requests for a person: alert staff, tell family, in one go.

An emergency message must never wait: the alert and the family notifications are
written in one transaction, before the assistant's first reply goes out. The
assistant's own words live in the Rasa domain; the words sent to family here.

A possible danger (care/safety_reading.py) opens a ``check`` alert instead, due in
``CareSettings.safety_check_s`` (3 minutes): the person was asked one question. "I need
help" escalates it at once (``answer_check``), and so does silence, when it falls due
(``escalate_due``, run every few seconds by the action server: ``CheckWatch``); "I'm
fine" closes it with a note for staff, and the family is not troubled. Each check is
decided once, under a row lock: an answer and the timer arriving together cannot both
act.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.alerts import insert_alert
from care.clock import Clock
from care.config import CareSettings
from care.db import Database
from care.people import person_for
from care.periodic import Every
from care.records import AlertRecord, PersonRecord
from care.senders import sender_id

log = logging.getLogger(__name__)

SUMMARY_LIMIT = 300

FAMILY_EMERGENCY = {
    "zh": "【安心紧急提醒】{name}刚才说：“{said}”。我们已请{name}马上拨打{ambulance}，"
    "服务中心工作人员也已收到警报。请您尽快联系{name}。中心电话：{hotline}。",
    "en": '[Anxin urgent] {name} just told us: "{said}". We asked {name} to call {ambulance} '
    "now, and the care centre's staff have been alerted. Please contact {name} as soon as you "
    "can. Centre hotline: {hotline}.",
}


FAMILY_NO_ANSWER = {
    "zh": "【安心紧急提醒】{name}刚才说：“{said}”。我们问{name}是否需要帮助，"
    "{minutes}分钟没有回复。服务中心工作人员已收到警报。请您尽快联系{name}。"
    "中心电话：{hotline}。",
    "en": '[Anxin urgent] {name} told us: "{said}". We asked whether {name} needed help and '
    "had no answer for {minutes} minutes. The care centre's staff have been alerted. Please "
    "contact {name} as soon as you can. Centre hotline: {hotline}.",
}
# To the person, when their silence raised the alarm (they may read it later).
SELF_NO_ANSWER = {
    "zh": "您没有回复，我们有点担心，已经请服务中心的工作人员联系您。"
    "需要的话请马上拨打{ambulance}。",
    "en": "We did not hear back from you, so we have asked the care centre staff to contact "
    "you. If you need to, please call {ambulance} now.",
}
CLOSED_NOTE = "asked; said they are fine"
ESCALATED_NOTE = {"help": "asked; said they need help", "silence": "asked; no answer in time"}


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
            return self._emergency(s, now, person, conversation_id, channel, said,
                                   FAMILY_EMERGENCY)  # fmt: skip

    def _emergency(
        self,
        s: Session,
        now: datetime,
        person: Optional[m.Person],
        conversation_id: str,
        channel: Optional[str],
        said: str,
        templates: dict[str, str],
    ) -> SafetyOutcome:
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
                s.add(
                    m.Notification(
                        person_id=relative.id,
                        kind="emergency",
                        subject=f"alert:{alert.id}",
                        message=templates[relative.preferred_language].format(
                            name=person.name,
                            said=said,
                            ambulance=self.settings.ambulance,
                            hotline=self.settings.centre_hotline,
                            minutes=max(1, round(self.settings.safety_check_s / 60)),
                        ),
                        urgent=True,
                        created_at=now,
                    )
                )
                notified.append(relative.id)
        return SafetyOutcome(alert, PersonRecord.of(person) if person else None, notified)

    # Possible danger: one question, then the alarm if needed ---------------------------

    def open_check(self, channel: str, external_id: str, said: str) -> AlertRecord:
        """A ``check`` alert for a possible danger, due after ``safety_check_s``."""
        now = self.clock()
        due = now + timedelta(seconds=self.settings.safety_check_s)
        with self.db.write() as s:
            person = person_for(s, channel, external_id)
            return insert_alert(s, now, "check", said.strip()[:SUMMARY_LIMIT],
                                person.id if person else None, sender_id(channel, external_id),
                                channel, due_at=due)  # fmt: skip

    def answer_check(self, check_id: int, answer: str) -> Optional[SafetyOutcome]:
        """The person answered the check's question: ``help`` escalates it (the emergency's
        outcome is returned), ``fine`` closes it with a note (None). Once decided — by an
        earlier answer or by the timer — nothing more happens (None)."""
        with self.db.write() as s:
            check = self._open_check(s, check_id)
            if check is None:
                return None
            if answer == "help":
                return self._escalate(s, check, "help")
            check.status, check.resolved_at = "resolved", self.clock()
            check.resolved_by, check.note = "anxin", CLOSED_NOTE
            audit.record(s, check.resolved_at, audit.SYSTEM, "alert.check_closed",
                         f"alert:{check.id}")  # fmt: skip
            return None

    def escalate_due(self) -> list[SafetyOutcome]:
        """Escalate every check still open past its due time (nobody answered)."""
        now = self.clock()
        found = select(m.Alert.id).where(
            m.Alert.kind == "check", m.Alert.status == "open", m.Alert.due_at <= now
        )
        outcomes = []
        with self.db.read() as s:
            due = list(s.scalars(found.order_by(m.Alert.due_at).limit(100)))
        for check_id in due:
            with self.db.write() as s:
                check = self._open_check(s, check_id)
                if check is None:
                    continue  # answered meanwhile, or another process has it
                outcome = self._escalate(s, check, "silence")
                self._tell_the_person(s, outcome)
                outcomes.append(outcome)
        return outcomes

    def check_state(self, check_id: int) -> Optional[str]:
        """``open``, ``closed`` or ``escalated`` (None: no such check)."""
        with self.db.read() as s:
            check = s.get(m.Alert, check_id)
            if check is None or check.kind != "check":
                return None
            if check.status != "resolved":
                return "open"
            return "closed" if check.note == CLOSED_NOTE else "escalated"

    def _open_check(self, s: Session, check_id: int) -> Optional[m.Alert]:
        stmt = select(m.Alert).where(
            m.Alert.id == check_id, m.Alert.kind == "check", m.Alert.status == "open"
        )
        if not self.db.is_sqlite:  # SQLite's writer already holds the database lock
            stmt = stmt.with_for_update(skip_locked=True)
        return s.scalars(stmt).first()

    def _escalate(self, s: Session, check: m.Alert, why: str) -> SafetyOutcome:
        now = self.clock()
        check.status, check.resolved_at = "resolved", now
        check.resolved_by, check.note = "anxin", ESCALATED_NOTE[why]
        person = s.get(m.Person, check.person_id) if check.person_id else None
        templates = FAMILY_EMERGENCY if why == "help" else FAMILY_NO_ANSWER
        outcome = self._emergency(s, now, person, check.conversation_id or "", check.channel,
                                  check.summary, templates)  # fmt: skip
        log.info("check %s escalated to emergency alert %s (%s)", check.id, outcome.alert.id, why)
        return outcome

    def _tell_the_person(self, s: Session, outcome: SafetyOutcome) -> None:
        person = outcome.person
        if person is None:
            return  # an unknown sender: staff have the alert and the conversation
        language = person.preferred_language
        language = language if language in SELF_NO_ANSWER else "zh"
        s.add(
            m.Notification(
                person_id=person.id,
                kind="emergency",
                subject=f"alert:{outcome.alert.id}",
                message=SELF_NO_ANSWER[language].format(ambulance=self.settings.ambulance),
                urgent=True,
                created_at=self.clock(),
            )
        )

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


class CheckWatch:
    """Escalates unanswered checks every ``every_s``, in a thread (care/periodic.py): the
    action server runs one (anxin/action_server.py). Several processes watching is
    harmless: each check is decided once, under its row lock."""

    def __init__(self, safety: Safety, every_s: float = 5.0) -> None:
        self._every = Every("safety-checks", every_s, safety.escalate_due,
                            "safety checks not looked at")  # fmt: skip

    def start(self) -> CheckWatch:
        self._every.start()
        return self

    def stop(self) -> None:
        self._every.stop()
