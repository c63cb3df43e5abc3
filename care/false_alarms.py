"""False alarms, once staff marked them (care.alerts.Alerts.mark_false_alarm): how many per
week, and the messages that raised them, as training data for the next model.

Weeks run Monday to Sunday in the centre's time zone; an alarm counts in the week it was
raised, whenever it was marked, so each week's figure reads "of the alarms raised that
week, this many were false". Only alarms count (care.alerts.is_alarm): a hand-off is
not an alarm and would only dilute the rate.

The message behind an alarm is the latest user message of the alert's conversation at or
before the alert was raised (Rasa's ``events`` rows, stamped on the stack's clock like the
alert). The conversation view has the same message; nothing is copied onto the alert, so
an undo takes the message out of the next export at once. Once retention has deleted the
conversation (idle for a year by default) its message is gone: export more often than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Iterable, Optional

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from care import models as m
from care.alerts import NOT_ALARMS
from care.conversations import Turn, event_json, user_turn
from care.conversations_nlu import Correction
from care.db import Database
from care.models_review import ConversationEvent as Ev
from care.records import AlertRecord

WEEKS = 8
# The intent a false alarm's message is exported under (see care.conversations_nlu.export).
NOT_SAFETY = "not_safety"
SCAN_CHUNK = 500  # events read per query, newest first, looking for the raising message
SCAN_MAX = 20_000  # a conversation that went on this long after its alarm is not searched


@dataclass(frozen=True)
class Week:
    start: date  # its Monday
    alarms: int  # alarms raised that week
    false: int  # of them, marked false alarms (so far)

    @property
    def percent(self) -> Optional[int]:
        return round(100 * self.false / self.alarms) if self.alarms else None


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, oldest first; the last is this week's."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def edges(starts: list[date], tz: tzinfo) -> list[datetime]:
    """Each week's first instant (midnight on its Monday, local), then the last one's end."""
    days = [*starts, starts[-1] + timedelta(weeks=1)]
    return [datetime.combine(d, time(0), tzinfo=tz).astimezone(timezone.utc) for d in days]


def weekly(db: Database, today: date, tz: tzinfo, weeks: int = WEEKS) -> list[Week]:
    """Alarms and false alarms in each of the last ``weeks`` weeks, oldest first: one
    grouped count over the alerts raised in those weeks (an index on ``created_at``)."""
    starts = week_starts(today, weeks)
    bounds = edges(starts, tz)
    week = case(
        *[(m.Alert.created_at < end, n) for n, end in enumerate(bounds[1:-1])],
        else_=weeks - 1,
    ).label("week")
    stmt = (
        select(week, func.count(), func.count(m.Alert.false_alarm_at))
        .where(
            m.Alert.created_at >= bounds[0],
            m.Alert.created_at < bounds[-1],
            m.Alert.kind.not_in(NOT_ALARMS),
        )
        .group_by("week")  # by the label: the CASE's bound values would not match twice
    )
    with db.read() as s:
        counts = {int(n): (int(total), int(false)) for n, total, false in s.execute(stmt)}
    return [Week(start, *counts.get(n, (0, 0))) for n, start in enumerate(starts)]


def recent(db: Database, limit: int = 10) -> list[AlertRecord]:
    """The latest alarms marked false, newest mark first: where staff find one to undo."""
    with db.read() as s:
        rows = s.scalars(
            select(m.Alert)
            .where(m.Alert.false_alarm_at.is_not(None))
            .order_by(m.Alert.false_alarm_at.desc(), m.Alert.id.desc())
            .limit(limit)
        )
        return [AlertRecord.of(r) for r in rows]


def raising(
    newest_first: Iterable[tuple[int, dict[str, Any]]], raised_at: datetime
) -> Optional[tuple[int, dict[str, Any]]]:
    """Of one conversation's events, newest first, the user message that raised an alert at
    ``raised_at``: the first one stamped at or before it."""
    limit = raised_at.timestamp()
    for event_id, event in newest_first:
        stamp = event.get("timestamp")
        if event.get("event") == "user" and isinstance(stamp, (int, float)) and stamp <= limit:
            return event_id, event
    return None


def raising_message(s: Session, conversation_id: str, raised_at: datetime) -> Optional[Turn]:
    """The message that raised an alert at ``raised_at`` in this conversation (None when
    there is none left: another channel's alert, or retention deleted the conversation)."""

    def newest_first() -> Iterable[tuple[int, dict[str, Any]]]:
        below: Optional[int] = None
        for _ in range(SCAN_MAX // SCAN_CHUNK):
            stmt = select(Ev.id, Ev.data).where(Ev.sender_id == conversation_id)
            if below is not None:
                stmt = stmt.where(Ev.id < below)
            rows = s.execute(stmt.order_by(Ev.id.desc()).limit(SCAN_CHUNK)).all()
            for event_id, data in rows:
                yield event_id, event_json(data)
            if len(rows) < SCAN_CHUNK:
                return
            below = rows[-1][0]

    found = raising(newest_first(), raised_at)
    return user_turn(found[0], found[1], None) if found else None


def as_corrections(db: Database) -> list[Correction]:
    """Each false alarm's message as a correction to ``not_safety``, oldest mark first;
    a message that cannot be found, or a button's payload ("/emergency"), is left out."""
    found = []
    with db.read() as s:
        marked = s.scalars(
            select(m.Alert)
            .where(m.Alert.false_alarm_at.is_not(None), m.Alert.conversation_id.is_not(None))
            .order_by(m.Alert.false_alarm_at, m.Alert.id)
        ).all()
        for alert in marked:
            turn = raising_message(s, alert.conversation_id, alert.created_at)
            if turn is None or turn.event_id is None or not turn.text:
                continue
            if turn.text.startswith("/"):
                continue  # a button was pressed: no words to learn from
            found.append(
                Correction(
                    event_id=turn.event_id,
                    sender_id=alert.conversation_id,
                    text=turn.text,
                    language=turn.language or "zh",
                    predicted_intent=turn.intent,
                    correct_intent=NOT_SAFETY,
                    flagged_by=alert.false_alarm_by or "",
                    flagged_at=alert.false_alarm_at,
                )
            )
    return found
