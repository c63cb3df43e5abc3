"""Alerts for staff: emergency, crisis, hand-off, a message that could not be handled (set
aside after it crashed its process: care/channel_store.py), loneliness risk — most urgent
first.

An alarm (an alert raised because someone's words were read as danger) can be marked a
false alarm by staff: one click resolves it and says who and when; a second click changes
nothing, and "not a false alarm after all" takes the mark back. Both are audited. The
marks feed the dashboard's weekly count and the NLU export (care/false_alarms.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.clock import Clock
from care.db import Database
from care.errors import InvalidRequest, InvalidTransition, UnknownAlert
from care.records import AlertRecord

PRIORITY = {
    "emergency": 0,
    "crisis": 1,
    "check": 1,  # a possible danger: someone was asked and may not answer
    "handoff": 2,
    "message_failed": 2,  # someone is waiting for an answer, as in a hand-off
    "loneliness_risk": 3,
}

# Kinds that are not a reading of someone's words as danger, so never a false alarm: a
# hand-off was asked for, a set-aside message did fail, a loneliness risk counts a week
# of low moods. Every other kind is an alarm — emergency, crisis, and a kind added later
# for danger (a check that asks "are you hurt?") without being listed anywhere here.
NOT_ALARMS = ("handoff", "message_failed", "loneliness_risk")


def is_alarm(kind: str) -> bool:
    return kind not in NOT_ALARMS


def insert_alert(
    s: Session,
    now: datetime,
    kind: str,
    summary: str,
    person_id: Optional[int] = None,
    conversation_id: Optional[str] = None,
    channel: Optional[str] = None,
    actor: Actor = audit.SYSTEM,
    due_at: Optional[datetime] = None,
) -> AlertRecord:
    """Open an alert inside the caller's transaction (with its audit row)."""
    if kind not in PRIORITY:
        raise InvalidRequest(f"unknown alert kind {kind!r}")
    row = m.Alert(
        kind=kind,
        status="open",
        priority=PRIORITY[kind],
        person_id=person_id,
        conversation_id=conversation_id,
        channel=channel,
        summary=summary,
        created_at=now,
        due_at=due_at,
    )
    s.add(row)
    s.flush()
    audit.record(
        s,
        now,
        actor,
        f"alert.{kind}",
        f"alert:{row.id}",
        channel=channel,
        on_behalf_of=f"person:{person_id}" if person_id else None,
    )
    return AlertRecord.of(row)


class Alerts:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def raise_alert(
        self,
        kind: str,
        summary: str,
        person_id: Optional[int] = None,
        conversation_id: Optional[str] = None,
        channel: Optional[str] = None,
        actor: Actor = audit.SYSTEM,
    ) -> AlertRecord:
        with self.db.write() as s:
            return insert_alert(
                s, self.clock(), kind, summary, person_id, conversation_id, channel, actor
            )

    def open_alerts(self) -> list[AlertRecord]:
        """Open and acknowledged alerts: most urgent kind first, newest first within it."""
        with self.db.read() as s:
            rows = s.scalars(
                select(m.Alert)
                .where(m.Alert.status != "resolved")
                .order_by(m.Alert.priority, m.Alert.created_at.desc(), m.Alert.id.desc())
            )
            return [AlertRecord.of(r) for r in rows]

    def handoff_open(self, conversation_id: str, channel: Optional[str] = None) -> bool:
        """Staff still have this conversation: a hand-off alert for it is not resolved."""
        with self.db.read() as s:
            stmt = select(m.Alert.id).where(
                m.Alert.kind == "handoff",
                m.Alert.status != "resolved",
                m.Alert.conversation_id == conversation_id,
            )
            if channel is not None:
                stmt = stmt.where(m.Alert.channel == channel)
            return s.execute(stmt.limit(1)).first() is not None

    def open_handoff(self, conversation_id: str) -> Optional[AlertRecord]:
        """The hand-off alert staff still hold for this conversation (newest), if any:
        its channel is where their replies go."""
        with self.db.read() as s:
            row = s.scalars(
                select(m.Alert)
                .where(
                    m.Alert.kind == "handoff",
                    m.Alert.status != "resolved",
                    m.Alert.conversation_id == conversation_id,
                )
                .order_by(m.Alert.id.desc())
                .limit(1)
            ).first()
            return AlertRecord.of(row) if row is not None else None

    def acknowledge(
        self, alert_id: int, staff: str, assign_to: Optional[str] = None
    ) -> AlertRecord:
        now = self.clock()
        with self.db.write() as s:
            row = self._get(s, alert_id)
            if row.status == "resolved":
                raise InvalidTransition("the alert is already resolved")
            row.status, row.acknowledged_at, row.acknowledged_by = "acknowledged", now, staff
            row.assigned_to = assign_to or row.assigned_to or staff
            audit.record(s, now, Actor.staff_user(staff), "alert.acknowledge", f"alert:{row.id}")
            return AlertRecord.of(row)

    def assign(self, alert_id: int, staff: str, to: str) -> AlertRecord:
        """Hand an alert to a colleague: an active staff or admin account (not a volunteer,
        whose view hides what the alert is about)."""
        now = self.clock()
        with self.db.write() as s:
            row = self._get(s, alert_id)
            if row.status == "resolved":
                raise InvalidTransition("the alert is already resolved")
            colleague = s.scalars(
                select(m.StaffUser.username).where(
                    m.StaffUser.username == to,
                    m.StaffUser.active.is_(True),
                    m.StaffUser.role.in_(("admin", "staff")),
                )
            ).first()
            if colleague is None:
                raise InvalidRequest("an alert goes to an active staff member")
            row.assigned_to = colleague
            audit.record(s, now, Actor.staff_user(staff), "alert.assign", f"alert:{row.id}",
                         detail={"to": colleague})  # fmt: skip
            return AlertRecord.of(row)

    def resolve(self, alert_id: int, staff: str, note: str) -> AlertRecord:
        if not note.strip():
            raise InvalidRequest("a resolved alert needs a note")
        now = self.clock()
        with self.db.write() as s:
            row = self._get(s, alert_id)
            if row.status == "resolved":
                raise InvalidTransition("the alert is already resolved")
            row.status, row.resolved_at, row.resolved_by, row.note = "resolved", now, staff, note
            audit.record(s, now, Actor.staff_user(staff), "alert.resolve", f"alert:{row.id}")
            return AlertRecord.of(row)

    def mark_false_alarm(
        self, alert_id: int, staff: str, actor: Optional[Actor | str] = None
    ) -> AlertRecord:
        """Staff say this alarm was false: it is marked (who, when) and resolved if it was
        not yet, with its audit row, in one transaction. Marking it again changes nothing.

        ``actor`` is who the audit log names (an API token, say); by default ``staff``."""
        now = self.clock()
        with self.db.write() as s:
            row = self._locked(s, alert_id)
            if not is_alarm(row.kind):
                raise InvalidRequest(f"a {row.kind} alert is not an alarm")
            if row.false_alarm_at is not None:
                return AlertRecord.of(row)  # a second click, or a colleague's: already so
            resolves = row.status != "resolved"
            if resolves:
                row.status, row.resolved_at, row.resolved_by = "resolved", now, staff
            row.false_alarm_at, row.false_alarm_by = now, staff
            row.false_alarm_resolved = resolves
            audit.record(s, now, actor or Actor.staff_user(staff), "alert.false_alarm",
                         f"alert:{row.id}", detail={"resolved": resolves})  # fmt: skip
            return AlertRecord.of(row)

    def unmark_false_alarm(
        self, alert_id: int, staff: str, actor: Optional[Actor | str] = None
    ) -> AlertRecord:
        """Not a false alarm after all: the mark goes. If the mark was what resolved the
        alert, the alert is open again (acknowledged, if it had been), so a click on the
        wrong row never quietly closes a real emergency. Unmarking an unmarked alert
        changes nothing."""
        now = self.clock()
        with self.db.write() as s:
            row = self._locked(s, alert_id)
            if row.false_alarm_at is None:
                return AlertRecord.of(row)
            reopens = bool(row.false_alarm_resolved) and row.status == "resolved"
            if reopens:
                row.status = "acknowledged" if row.acknowledged_at is not None else "open"
                row.resolved_at = row.resolved_by = None
            row.false_alarm_at = row.false_alarm_by = row.false_alarm_resolved = None
            audit.record(s, now, actor or Actor.staff_user(staff), "alert.false_alarm_undo",
                         f"alert:{row.id}", detail={"reopened": reopens})  # fmt: skip
            return AlertRecord.of(row)

    def _locked(self, s: Session, alert_id: int) -> m.Alert:
        """The alert, locked until commit: two clicks at once are one after the other."""
        row = s.scalars(
            self.db.lock(select(m.Alert).where(m.Alert.id == alert_id), m.Alert)
        ).first()
        if row is None:
            raise UnknownAlert(f"no alert {alert_id}", alert_id=alert_id)
        return row

    @staticmethod
    def _get(s: Session, alert_id: int) -> m.Alert:
        row = s.get(m.Alert, alert_id)
        if row is None:
            raise UnknownAlert(f"no alert {alert_id}", alert_id=alert_id)
        return row
