"""The conversation read model: Rasa's ``events`` rows plus who, alerts and bookings.

Every filter is a bound parameter; a search term is matched with LIKE after escaping
``%``, ``_`` and ``\\`` (so "%" finds a percent sign, and an injection string is just
text), then confirmed against the parsed messages. Listing parses only the page it
shows unless a filter needs every turn (channel, date, language, intent, hand-off,
low confidence); then at most ``SCAN_LIMIT`` most recent conversations are looked at.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Optional

from sqlalchemy import and_, func, or_, select

from care import models as m
from care.conversations import Conversation, Turn, TurnBooking, mentions, parse, when
from care.db import Database
from care.errors import InvalidRequest, NotFound, UnknownElder
from care.models_review import ConversationEvent as Ev
from care.models_review import NluCorrection

SCAN_LIMIT = 2000
MAX_PAGE = 100
NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
LANGUAGES = ("zh", "en")


class UnknownConversation(NotFound):
    pass


def low_confidence_threshold(environ: Optional[dict[str, str]] = None) -> float:
    """Turns under this intent confidence are "low confidence" (ANXIN_REVIEW_LOW_CONFIDENCE)."""
    raw = (os.environ if environ is None else environ).get("ANXIN_REVIEW_LOW_CONFIDENCE", "0.6")
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"ANXIN_REVIEW_LOW_CONFIDENCE={raw!r} is not a number") from None
    if not 0 < value <= 1:
        raise SystemExit(f"ANXIN_REVIEW_LOW_CONFIDENCE={raw!r}: between 0 and 1")
    return value


@dataclass(frozen=True)
class Filters:
    channel: Optional[str] = None
    elder_id: Optional[int] = None
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    language: Optional[str] = None
    intent: Optional[str] = None
    handed_off: Optional[bool] = None
    has_alert: Optional[bool] = None
    low_confidence: Optional[bool] = None
    q: Optional[str] = None

    def check(self) -> None:
        """Refuse malformed values with a message naming what is allowed (a 400)."""
        if self.channel is not None and not NAME.match(self.channel):
            raise InvalidRequest("channel must be a channel name such as rest, wechat, telegram")
        if self.intent is not None and not NAME.match(self.intent):
            raise InvalidRequest("intent must be an intent name such as book_meal")
        if self.language is not None and self.language not in LANGUAGES:
            raise InvalidRequest("language must be one of zh, en")
        if self.q is not None and len(self.q) > 200:
            raise InvalidRequest("search text is limited to 200 characters")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidRequest("the start date is after the end date")

    @property
    def needs_turns(self) -> bool:
        return any(
            v is not None
            for v in (self.channel, self.date_from, self.date_to, self.language, self.intent,
                      self.handed_off, self.low_confidence)
        )  # fmt: skip


@dataclass(frozen=True)
class Page:
    conversations: list[Conversation]
    total: int
    page: int
    per_page: int
    truncated: bool  # more conversations exist than were scanned


def like_pattern(term: str) -> str:
    """``term`` as it appears inside the stored JSON, LIKE-escaped with backslash."""
    encoded = json.dumps(term, ensure_ascii=False)[1:-1]
    escaped = encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


class ConversationLog:
    def __init__(self, db: Database, tz: tzinfo, low_confidence: float = 0.6) -> None:
        self.db, self.tz, self.low_confidence = db, tz, low_confidence

    # -- listing -------------------------------------------------------------------

    def search(self, filters: Filters, page: int = 1, per_page: int = 25) -> Page:
        filters.check()
        page, per_page = max(1, page), max(1, min(per_page, MAX_PAGE))
        with self.db.read() as s:
            senders = self._candidates(s, filters)
            if not filters.needs_turns and not filters.q:
                chosen = senders[(page - 1) * per_page : page * per_page]
                found = [self._load(s, sender) for sender in chosen]
                return Page(found, len(senders), page, per_page, truncated=False)
            scanned = senders[:SCAN_LIMIT]
            matching = [c for c in (self._load(s, x) for x in scanned) if self._keep(c, filters)]
        chosen_page = matching[(page - 1) * per_page : page * per_page]
        return Page(chosen_page, len(matching), page, per_page, len(senders) > SCAN_LIMIT)

    def _candidates(self, s: Any, f: Filters) -> list[str]:
        """Sender ids, most recently active first, narrowed in SQL where SQL can."""
        stmt = select(Ev.sender_id).where(Ev.sender_id.isnot(None)).group_by(Ev.sender_id)
        if f.elder_id is not None:
            ids = self._identities(s, f.elder_id)
            stmt = stmt.where(Ev.sender_id.in_(ids or [""]))
        if f.q:
            user_or_bot = or_(Ev.data.like('%"event": "user"%'), Ev.data.like('%"event": "bot"%'))
            stmt = stmt.where(and_(user_or_bot, func.lower(Ev.data).like(like_pattern(f.q), "\\")))
        if f.has_alert is not None:
            alerted = select(m.Alert.conversation_id).where(m.Alert.conversation_id.isnot(None))
            cond = Ev.sender_id.in_(alerted)
            stmt = stmt.where(cond if f.has_alert else ~cond)
        stmt = stmt.order_by(func.max(Ev.id).desc())
        return [row[0] for row in s.execute(stmt)]

    def _identities(self, s: Any, elder_id: int) -> list[str]:
        person = s.get(m.Person, elder_id)
        if person is None:
            raise UnknownElder(f"no elder {elder_id}", elder_id=elder_id)
        rows = s.execute(
            select(m.ChannelIdentity.external_id).where(m.ChannelIdentity.person_id == elder_id)
        )
        return [r[0] for r in rows]

    def _keep(self, c: Conversation, f: Filters) -> bool:
        turns = c.user_turns
        if f.q and not mentions(c, f.q):
            return False
        if f.channel and f.channel not in c.channels:
            return False
        if f.language and f.language not in c.languages:
            return False
        if f.intent and f.intent not in c.intents:
            return False
        if f.handed_off is not None and c.handed_off != f.handed_off:
            return False
        if f.low_confidence is not None:
            if (c.low_confidence_turns(self.low_confidence) > 0) != f.low_confidence:
                return False
        if f.date_from or f.date_to:
            start = self._local_start(f.date_from) if f.date_from else None
            end = self._local_start(f.date_to + timedelta(days=1)) if f.date_to else None
            if not any((start is None or t.at >= start) and (end is None or t.at < end)
                       for t in turns):  # fmt: skip
                return False
        return True

    def _local_start(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.tz)

    def per_channel(self, day: date, chunk: int = 500) -> dict[str, int]:
        """Conversations with a user message on ``day`` (local), per channel (the dashboard).

        Reads user events newest first and stops at the first one before the day: ids
        grow with time, so a busy history costs no more than today's messages.
        """
        start, end = self._local_start(day), self._local_start(day + timedelta(days=1))
        seen: dict[str, set[str]] = defaultdict(set)
        before: Optional[int] = None
        with self.db.read() as s:
            while True:
                stmt = select(Ev.id, Ev.sender_id, Ev.data).where(
                    Ev.data.like('%"event": "user"%')
                )
                if before is not None:
                    stmt = stmt.where(Ev.id < before)
                rows = s.execute(stmt.order_by(Ev.id.desc()).limit(chunk)).all()
                for _id, sender, data in rows:
                    event = _json(data)
                    at = when(event)
                    if at < start:
                        return {k: len(v) for k, v in sorted(seen.items())}
                    if at < end and sender:
                        seen[str(event.get("input_channel") or "unknown")].add(sender)
                if len(rows) < chunk:
                    return {k: len(v) for k, v in sorted(seen.items())}
                before = rows[-1][0]

    # -- one conversation ------------------------------------------------------------

    def get(self, sender_id: str) -> Conversation:
        with self.db.read() as s:
            return self._load(s, sender_id)

    def _load(self, s: Any, sender_id: str) -> Conversation:
        rows = s.execute(
            select(Ev.id, Ev.data).where(Ev.sender_id == sender_id).order_by(Ev.id)
        ).all()
        if not rows:
            raise UnknownConversation("no such conversation", conversation_id=sender_id)
        events = [(row[0], _json(row[1])) for row in rows]
        conversation = Conversation(id=sender_id, sessions=parse(events))
        self._people(s, conversation)
        conversation.has_alert = (
            s.execute(
                select(m.Alert.id).where(m.Alert.conversation_id == sender_id).limit(1)
            ).first()
            is not None
        )
        self._bookings(s, conversation)
        self._corrections(s, conversation)
        return conversation

    def _people(self, s: Any, c: Conversation) -> None:
        channels = c.channels
        if not channels:
            return
        row = s.execute(
            select(m.Person.id, m.Person.name)
            .join(m.ChannelIdentity, m.ChannelIdentity.person_id == m.Person.id)
            .where(m.ChannelIdentity.external_id == c.id, m.ChannelIdentity.channel.in_(channels))
            .limit(1)
        ).first()
        if row is not None:
            c.person_id, c.person_name = row[0], row[1]

    def _bookings(self, s: Any, c: Conversation) -> None:
        """Bookings changed while each turn was handled.

        Actions key a booking by the message that confirmed it (channel:sender:message
        id), which ties creations to their turn exactly; cancellations have no key, so
        those are the speaker's audited booking changes between this turn and the next.
        """
        turns = c.user_turns
        if not turns or c.person_id is None:
            return
        by_key = {f"{t.channel}:{c.id}:{t.message_id}": t for t in turns if t.message_id}
        placed: dict[int, Turn] = {}
        if by_key:
            for b_id, key in s.execute(
                select(m.Booking.id, m.Booking.idempotency_key).where(
                    m.Booking.idempotency_key.in_(list(by_key))
                )
            ):
                placed[b_id] = by_key[key]
        entries = s.execute(
            select(m.AuditEntry.at, m.AuditEntry.action, m.AuditEntry.subject, m.AuditEntry.detail)
            .where(
                m.AuditEntry.actor == f"person:{c.person_id}",
                m.AuditEntry.action.like("booking.%"),
                m.AuditEntry.at >= turns[0].at - timedelta(seconds=1),
            )
            .order_by(m.AuditEntry.id)
        ).all()
        changes: dict[int, list[tuple[Turn, str]]] = defaultdict(list)
        for at, action, subject, detail in entries:
            booking_id = _booking_id(subject)
            if booking_id is None:
                continue
            change = action.split(".", 1)[1]
            if change == "create" and (detail or {}).get("rescheduled_from"):
                change = "reschedule"
            made = change in ("create", "reschedule", "waitlist")
            turn = (placed.get(booking_id) if made else None) or _turn_at(turns, at)
            if turn is not None:
                changes[booking_id].append((turn, change))
        for b_id in placed:
            if b_id not in changes:
                changes[b_id].append((placed[b_id], "create"))
        if not changes:
            return
        rows = s.execute(
            select(m.Booking.id, m.Booking.service, m.Booking.status, m.Slot.code, m.Slot.date)
            .join(m.Slot, m.Booking.slot_id == m.Slot.id)
            .where(m.Booking.id.in_(list(changes)))
        ).all()
        for b_id, service, status, code, day in rows:
            for turn, change in changes[b_id]:
                turn.bookings.append(
                    TurnBooking(b_id, service, code, day.isoformat(), status, change)
                )

    def _corrections(self, s: Any, c: Conversation) -> None:
        ids = {t.event_id: t for t in c.user_turns}
        if not ids:
            return
        for event_id, intent in s.execute(
            select(NluCorrection.event_id, NluCorrection.correct_intent).where(
                NluCorrection.event_id.in_(list(ids))
            )
        ):
            ids[event_id].correction = intent


def _json(data: Optional[str]) -> dict[str, Any]:
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _booking_id(subject: str) -> Optional[int]:
    kind, _, raw = subject.partition(":")
    return int(raw) if kind == "booking" and raw.isdigit() else None


def _turn_at(turns: list[Turn], at: datetime) -> Optional[Turn]:
    """The last user turn that began at or before ``at`` (a second of clock slack)."""
    found = None
    for t in turns:
        if t.at <= at + timedelta(seconds=1):
            found = t
    return found
