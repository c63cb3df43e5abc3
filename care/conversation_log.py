"""The conversation read model: Rasa's ``events`` rows plus who, alerts and bookings.

Listing is SQL over the conversation summary (care.conversation_index), brought up to
date first: every filter is a bound-parameter predicate over all conversations, the
total is exact and only the page shown is parsed. A search term is matched with LIKE
(after escaping ``%``, ``_`` and ``\\``, so "%" finds a percent sign and an injection
string is just text) over the events of the conversations the other filters left, and
each matching event is confirmed by reading its text.
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
from sqlalchemy.sql import ColumnElement

from care import models as m
from care.conversation_index import catch_up
from care.conversations import Conversation, Turn, TurnBooking, event_json, parse, when
from care.db import Database
from care.errors import InvalidRequest, NotFound, UnknownElder
from care.models_review import ConversationEvent as Ev
from care.models_review import ConversationFacet as Facet
from care.models_review import ConversationSummary as Summary
from care.models_review import ConversationTurn as TurnRow
from care.models_review import NluCorrection
from care.senders import SEPARATOR, UNKNOWN, request_key, split_sender

MAX_PAGE = 100
NAME = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
LANGUAGES = ("zh", "en")
SEARCH_CHUNK = 2000  # matching events read at a time while confirming a search


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


@dataclass(frozen=True)
class Page:
    conversations: list[Conversation]
    total: int
    page: int
    per_page: int
    # Always False now that every filter is answered over all conversations; kept for
    # the pages and the API, which still carry the field.
    truncated: bool = False


def like_pattern(term: str) -> str:
    """``term`` as it appears inside the stored JSON, LIKE-escaped with backslash."""
    encoded = json.dumps(term, ensure_ascii=False)[1:-1]
    escaped = encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def said(event: dict[str, Any], needle: str) -> bool:
    """Whether a user message or a reply (the assistant's or staff's) holds ``needle``.

    The same test as care.conversations.mentions, one event at a time: a user event's
    text is a turn's text, a bot event's text a reply.
    """
    kind, words = event.get("event"), event.get("text")
    if kind == "user" and words is not None or kind == "bot" and words:
        return needle.casefold() in str(words).casefold()
    return False


class ConversationLog:
    def __init__(self, db: Database, tz: tzinfo, low_confidence: float = 0.6) -> None:
        self.db, self.tz, self.low_confidence = db, tz, low_confidence

    # -- listing -------------------------------------------------------------------

    def search(self, filters: Filters, page: int = 1, per_page: int = 25) -> Page:
        filters.check()
        page, per_page = max(1, page), max(1, min(per_page, MAX_PAGE))
        catch_up(self.db)
        with self.db.read() as s:
            conds = self._conditions(s, filters)
            if filters.q:
                ordered = self._searched(s, conds, filters.q)
                total = len(ordered)
                chosen = ordered[(page - 1) * per_page : page * per_page]
            else:
                total = s.execute(select(func.count()).select_from(Summary).where(*conds))
                total = int(total.scalar_one())
                chosen = list(
                    s.scalars(
                        select(Summary.sender_id)
                        .where(*conds)
                        .order_by(Summary.last_event_id.desc())
                        .limit(per_page)
                        .offset((page - 1) * per_page)
                    )
                )
            found = [self._load(s, sender) for sender in chosen]
        return Page(found, total, page, per_page)

    def _conditions(self, s: Any, f: Filters) -> list[ColumnElement[Any]]:
        """The filters as predicates over the summary (every value a bound parameter)."""
        conds: list[ColumnElement[Any]] = []
        if f.elder_id is not None:
            self._elder(s, f.elder_id)
            # The elder's conversations: their identities as sender ids (care.senders).
            ids = select(
                m.ChannelIdentity.channel + SEPARATOR + m.ChannelIdentity.external_id
            ).where(m.ChannelIdentity.person_id == f.elder_id)
            conds.append(Summary.sender_id.in_(ids))
        for kind, value in (("channel", f.channel), ("language", f.language),
                            ("intent", f.intent)):  # fmt: skip
            if value is not None:
                conds.append(
                    Summary.sender_id.in_(
                        select(Facet.sender_id).where(Facet.kind == kind, Facet.value == value)
                    )
                )
        if f.handed_off is not None:
            conds.append(Summary.handed_off.is_(f.handed_off))
        if f.has_alert is not None:
            # alerts.conversation_id has no index: one pass over alerts, not one per row.
            alerted = Summary.sender_id.in_(
                select(m.Alert.conversation_id).where(m.Alert.conversation_id.isnot(None))
            )
            conds.append(alerted if f.has_alert else ~alerted)
        if f.low_confidence is not None:
            low = Summary.min_confidence < self.low_confidence
            conds.append(low if f.low_confidence else or_(Summary.min_confidence.is_(None), ~low))
        if f.date_from or f.date_to:
            # IN, not a correlated EXISTS: SQLite then walks the turns' time index once
            # instead of probing it once per conversation (0.5 s on 20,000 of them).
            in_range = []
            if f.date_from:
                in_range.append(TurnRow.at >= self._local_start(f.date_from))
            if f.date_to:
                in_range.append(TurnRow.at < self._local_start(f.date_to + timedelta(days=1)))
            conds.append(Summary.sender_id.in_(select(TurnRow.sender_id).where(*in_range)))
        return conds

    def _searched(self, s: Any, conds: list[ColumnElement[Any]], q: str) -> list[str]:
        """Senders the filters keep with an event saying ``q``, most recent first.

        LIKE narrows the events in SQL; each candidate is then read, since the pattern
        also matches keys and other fields of the JSON.
        """
        user_or_bot = or_(Ev.data.like('%"event": "user"%'), Ev.data.like('%"event": "bot"%'))
        stmt = (
            select(Ev.sender_id, Summary.last_event_id, Ev.data)
            .join(Summary, Summary.sender_id == Ev.sender_id)
            .where(*conds, and_(user_or_bot, func.lower(Ev.data).like(like_pattern(q), "\\")))
        )
        found: dict[str, int] = {}
        rows = s.execute(stmt.execution_options(yield_per=SEARCH_CHUNK))
        for sender, last_event_id, data in rows:
            if sender not in found and said(event_json(data), q):
                found[sender] = last_event_id
        return sorted(found, key=lambda sender: found[sender], reverse=True)

    def _elder(self, s: Any, elder_id: int) -> None:
        if s.get(m.Person, elder_id) is None:
            raise UnknownElder(f"no elder {elder_id}", elder_id=elder_id)

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
                stmt = select(Ev.id, Ev.sender_id, Ev.data).where(Ev.data.like('%"event": "user"%'))
                if before is not None:
                    stmt = stmt.where(Ev.id < before)
                rows = s.execute(stmt.order_by(Ev.id.desc()).limit(chunk)).all()
                for _id, sender, data in rows:
                    event = event_json(data)
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
        events = [(row[0], event_json(row[1])) for row in rows]
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
        """Who the conversation is with: the identity its sender id names (care.senders)."""
        channel, external = split_sender(c.id)
        if channel == UNKNOWN:
            return
        row = s.execute(
            select(m.Person.id, m.Person.name)
            .join(m.ChannelIdentity, m.ChannelIdentity.person_id == m.Person.id)
            .where(m.ChannelIdentity.external_id == external, m.ChannelIdentity.channel == channel)
            .limit(1)
        ).first()
        if row is not None:
            c.person_id, c.person_name = row[0], row[1]

    def _bookings(self, s: Any, c: Conversation) -> None:
        """Bookings changed while each turn was handled.

        Actions key a booking by the message that confirmed it (care.senders.request_key:
        sender id and message id), which ties creations to their turn exactly;
        cancellations have no key, so those are the speaker's audited booking changes
        between this turn and the next.
        """
        turns = c.user_turns
        if not turns or c.person_id is None:
            return
        by_key = {request_key(c.id, t.message_id): t for t in turns if t.message_id}
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
