"""Rasa's events (the ``events`` table) read back as conversations, sessions and turns.

Pure: ``parse`` takes ``(event id, event dict)`` pairs of one sender, oldest first, and
returns sessions of turns; nothing here touches the database (care.conversation_log
does, and adds people, alerts and bookings). A turn is one user message and everything
the assistant did until the next one: replies, actions, slots set, a hand-off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Optional

from care.language import detect_language

SESSION_START = "action_session_start"
QUIET_ACTIONS = ("action_listen", SESSION_START)
LANGUAGE_ENTITY = "language"


@dataclass
class TurnBooking:
    """A booking made, changed or cancelled while this turn was handled."""

    id: int
    service: str
    slot: str
    date: str
    status: str
    change: str  # create | waitlist | cancel | reschedule


@dataclass
class Turn:
    event_id: Optional[int]  # the user event; None for what the assistant said first
    at: datetime
    channel: Optional[str]
    text: Optional[str]
    message_id: Optional[str] = None
    intent: Optional[str] = None
    confidence: Optional[float] = None
    language: Optional[str] = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    # What staff wrote in a handed-off conversation: {"by": username, "text": ...}
    staff_replies: list[dict[str, str]] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    handed_off: bool = False
    bookings: list[TurnBooking] = field(default_factory=list)
    correction: Optional[str] = None  # the intent staff said it should have been

    def low_confidence(self, threshold: float) -> bool:
        return self.confidence is not None and self.confidence < threshold


@dataclass
class Session:
    started_at: datetime
    turns: list[Turn] = field(default_factory=list)


@dataclass
class Conversation:
    """One Rasa conversation (its sender id), with the person behind it when known."""

    id: str
    sessions: list[Session]
    person_id: Optional[int] = None
    person_name: Optional[str] = None
    has_alert: bool = False

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s.turns]

    @property
    def user_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.event_id is not None]

    @property
    def started_at(self) -> Optional[datetime]:
        return self.sessions[0].started_at if self.sessions else None

    @property
    def last_at(self) -> Optional[datetime]:
        turns = self.turns
        return turns[-1].at if turns else self.started_at

    @property
    def channels(self) -> list[str]:
        return _unique(t.channel for t in self.user_turns)

    @property
    def languages(self) -> list[str]:
        return _unique(t.language for t in self.user_turns)

    @property
    def intents(self) -> list[str]:
        return _unique(t.intent for t in self.user_turns)

    @property
    def handed_off(self) -> bool:
        return any(t.handed_off for t in self.turns)

    def low_confidence_turns(self, threshold: float) -> int:
        return sum(1 for t in self.user_turns if t.low_confidence(threshold))


def _unique(values: Iterable[Optional[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if v:
            seen.setdefault(v, None)
    return list(seen)


def event_json(data: Optional[str]) -> dict[str, Any]:
    """An ``events`` row's data as a dict; anything unreadable as an empty one."""
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def when(event: dict[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if not isinstance(stamp, (int, float)):
        stamp = 0.0
    return datetime.fromtimestamp(float(stamp), tz=timezone.utc)


def parse(events: Iterable[tuple[int, dict[str, Any]]]) -> list[Session]:
    """Sessions of turns from one sender's events, oldest first."""
    sessions: list[Session] = []
    turn: Optional[Turn] = None
    language: Optional[str] = None  # the conversation's language so far (the slot)

    def current(event: dict[str, Any]) -> Turn:
        nonlocal turn
        if not sessions:
            sessions.append(Session(started_at=when(event)))
        if turn is None:
            # What the assistant says before anyone spoke (a greeting at session start).
            turn = Turn(event_id=None, at=when(event), channel=None, text=None)
            sessions[-1].turns.append(turn)
        return turn

    for event_id, event in events:
        kind = event.get("event")
        if kind == "action" and event.get("name") == SESSION_START:
            sessions.append(Session(started_at=when(event)))
            turn = None
        elif kind == "user":
            if not sessions:
                sessions.append(Session(started_at=when(event)))
            turn = user_turn(event_id, event, language)
            language = turn.language or language
            sessions[-1].turns.append(turn)
        elif kind == "bot":
            text = event.get("text")
            staff = (event.get("metadata") or {}).get("staff")
            if text and staff:
                current(event).staff_replies.append({"by": str(staff), "text": str(text)})
            elif text:
                current(event).replies.append(str(text))
        elif kind == "action":
            name = event.get("name")
            if name and name not in QUIET_ACTIONS:
                current(event).actions.append(str(name))
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if not name:
                continue
            target = current(event)
            target.slots[str(name)] = value
            if name == "handed_off" and value is True:
                target.handed_off = True
            if name == LANGUAGE_ENTITY and value in ("zh", "en"):
                language = str(value)
    return sessions


def user_turn(event_id: int, event: dict[str, Any], language: Optional[str]) -> Turn:
    parse_data = event.get("parse_data") or {}
    intent = parse_data.get("intent") or {}
    entities = [e for e in parse_data.get("entities") or [] if isinstance(e, dict)]
    stated = next(
        (str(e.get("value")) for e in entities if e.get("entity") == LANGUAGE_ENTITY), None
    )
    text = event.get("text")
    confidence = intent.get("confidence")
    return Turn(
        event_id=event_id,
        at=when(event),
        channel=event.get("input_channel"),
        text=str(text) if text is not None else None,
        message_id=event.get("message_id"),
        intent=intent.get("name"),
        confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
        # The detector's entity, else the conversation's language, else a guess from the text.
        language=stated or language or detect_language(text if isinstance(text, str) else None),
        entities=_distinct(
            {"entity": e.get("entity"), "value": e.get("value")}
            for e in entities
            if e.get("entity") != LANGUAGE_ENTITY
        ),
    )


def _distinct(entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    # Two extractors often find the same value (a regex and the model): show it once.
    out: list[dict[str, Any]] = []
    for e in entities:
        if e not in out:
            out.append(e)
    return out


def mentions(conversation: Conversation, needle: str) -> bool:
    """Whether a user message or a reply contains ``needle`` (case-insensitive)."""
    needle = needle.casefold()
    for t in conversation.turns:
        if t.text and needle in t.text.casefold():
            return True
        if any(needle in r.casefold() for r in t.replies):
            return True
        if any(needle in r["text"].casefold() for r in t.staff_replies):
            return True
    return False
