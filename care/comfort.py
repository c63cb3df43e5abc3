"""Loneliness and low mood: remember how people felt, suggest something real, raise a flag.

Three low moods within seven days (per person, or per conversation for someone
we do not know yet) open one loneliness-risk alert for staff; another one is
not opened while that alert is still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

from sqlalchemy import func, select

from care import models as m
from care.alerts import insert_alert
from care.availability import SlotQueries
from care.clock import Clock
from care.db import Database
from care.people import person_for
from care.records import AlertRecord, PersonRecord, SlotRecord
from care.senders import sender_id

LOW_MOODS = ("lonely", "sad")
ALERT_AFTER = 3
WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class MoodResult:
    person: Optional[PersonRecord]
    low_this_week: int
    alert: Optional[AlertRecord]


@dataclass(frozen=True)
class Suggestion:
    """A volunteer call (sharing an interest when possible) and the next activity."""

    call: Optional[SlotRecord]
    shared_interest: Optional[str]
    activity: Optional[dict[str, str]]


class Comfort:
    def __init__(self, db: Database, clock: Clock, slots: SlotQueries) -> None:
        self.db = db
        self.clock = clock
        self.slots = slots

    def record(self, channel: str, external_id: str, mood: str) -> MoodResult:
        """A mood said by ``external_id`` on ``channel``, kept with their conversation."""
        now = self.clock()
        conversation_id = sender_id(channel, external_id)
        with self.db.write() as s:
            person = person_for(s, channel, external_id)
            s.add(
                m.MoodEntry(
                    person_id=person.id if person else None,
                    conversation_id=conversation_id,
                    channel=channel,
                    mood=mood,
                    created_at=now,
                )
            )
            s.flush()
            whose = (
                m.MoodEntry.person_id == person.id
                if person
                else m.MoodEntry.conversation_id == conversation_id
            )
            low = s.scalar(
                select(func.count())
                .select_from(m.MoodEntry)
                .where(
                    whose, m.MoodEntry.mood.in_(LOW_MOODS), m.MoodEntry.created_at > now - WINDOW
                )
            )
            alert = None
            if (
                mood in LOW_MOODS
                and low >= ALERT_AFTER
                and not self._open_alert(s, person, conversation_id)
            ):
                alert = insert_alert(
                    s,
                    now,
                    "loneliness_risk",
                    f"{low} low-mood messages in 7 days",
                    person.id if person else None,
                    conversation_id,
                    channel,
                )
            return MoodResult(PersonRecord.of(person) if person else None, low, alert)

    @staticmethod
    def _open_alert(s: object, person: Optional[m.Person], conversation_id: str) -> bool:
        where = (
            m.Alert.person_id == person.id if person else m.Alert.conversation_id == conversation_id
        )
        return (
            s.scalars(  # type: ignore[attr-defined]
                select(m.Alert.id).where(
                    where, m.Alert.kind == "loneliness_risk", m.Alert.status != "resolved"
                )
            ).first()
            is not None
        )

    def suggest(self, person: Optional[PersonRecord], language: str, today: date) -> Suggestion:
        until = today + timedelta(days=7)
        calls = self.slots.availability("companion_call", today, until, volunteer_language=language)
        interests = set(person.interests) if person else set()
        shared = [c for c in calls if interests & set(c.details.get("interests", []))]
        call = (shared or calls)[0] if (shared or calls) else None
        interest = None
        if call is not None and shared:
            common = [i for i in call.details["interests"] if i in interests][0]
            index = call.details["interests"].index(common)
            interest = common if language == "zh" else call.details["interests_en"][index]
        with self.db.read() as s:
            row = s.scalars(
                select(m.Activity)
                .where(m.Activity.date >= today, m.Activity.date <= until)
                .order_by(m.Activity.date, m.Activity.start)
            ).first()
            activity = (
                {
                    "name": row.name if language == "zh" else row.name_en,
                    "date": row.date.isoformat(),
                    "start": f"{row.start:%H:%M}",
                    "place": (row.place if language == "zh" else row.place_en) or "",
                }
                if row
                else None
            )
        return Suggestion(call, interest, activity)
