"""Random conversations as Rasa writes them, and the Python answer to a filter.

``events`` rows are written as the batching broker writes them (sender_id, the event
dict as JSON with ``ensure_ascii=False``), many at a time, so a test can hold thousands
of conversations. ``python_keeps`` is the filter as it was answered before the summary
existed: on the parsed conversation (care.conversations), which the SQL must agree with.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Optional

from sqlalchemy import insert, select

from care import models as m
from care.conversation_log import Filters
from care.conversations import Conversation, mentions
from care.db import Database
from care.models_review import ConversationEvent
from care.senders import sender_id

BASE = datetime(2026, 11, 20, tzinfo=timezone.utc).timestamp()  # days before the tests' clock
INTENTS = ("book_meal", "affirm", "greet", "emergency", "feeling_lonely")
CHANNELS = ("rest", "wechat", "telegram")
WORDS = ("我想订午饭", "lunch please", "Call ME later", "100% sure", "好_吃的菜", "Thank you", "")
NEEDLES = ("午饭", "LUNCH", "call me", "100%", "好_吃", "_", "%", "thank", "nothing like it")


def user(t: float, text: Optional[str], intent: Optional[str], confidence: Optional[float],
         channel: Optional[str], language: Optional[str],
         message_id: str) -> dict[str, Any]:  # fmt: skip
    entities = [{"entity": "language", "value": language}] if language else []
    parse_data: dict[str, Any] = {"entities": entities, "text": text}
    if intent is not None:
        parse_data["intent"] = {"name": intent, "confidence": confidence}
    return {"event": "user", "timestamp": t, "metadata": {}, "text": text,
            "parse_data": parse_data, "input_channel": channel,
            "message_id": message_id}  # fmt: skip


def bot(t: float, text: str, staff: Optional[str] = None) -> dict[str, Any]:
    return {"event": "bot", "timestamp": t, "text": text,
            "metadata": {"staff": staff} if staff else {}, "data": {}}  # fmt: skip


def action(t: float, name: str) -> dict[str, Any]:
    return {"event": "action", "timestamp": t, "name": name, "policy": None, "confidence": 1.0}


def slot(t: float, name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "timestamp": t, "name": name, "value": value}


def session(t: float) -> list[dict[str, Any]]:
    return [action(t, "action_session_start"), {"event": "session_started", "timestamp": t},
            action(t, "action_listen")]  # fmt: skip


def random_conversation(rng: random.Random, sender: str) -> list[dict[str, Any]]:
    """A sender's events, oldest first: sessions, turns, replies, slots, hand-offs."""
    t = BASE + rng.uniform(0, 6 * 86400)
    events: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.8:
            events += session(t)
        if rng.random() < 0.3:
            events.append(bot(t, rng.choice(WORDS) or "您好"))  # said before anyone spoke
        for _ in range(rng.randint(0, 4)):
            t += rng.choice((0, 1, 30, 600, 3 * 3600, 86400))
            confidence = rng.choice((None, 0.6, round(rng.random(), 3), rng.random()))
            events.append(user(
                t, rng.choice(WORDS + (None,)), rng.choice(INTENTS + (None,)), confidence,
                rng.choice(CHANNELS + (None,)), rng.choice(("zh", "en", None, None)),
                f"{sender}-{len(events)}",
            ))  # fmt: skip
            if rng.random() < 0.3:
                events.append(action(t, rng.choice(("meal_form", "action_handoff"))))
            if rng.random() < 0.25:
                events.append(slot(t, "handed_off", rng.choice((True, False, None))))
            if rng.random() < 0.2:
                events.append(slot(t, "language", rng.choice(("zh", "en"))))
            if rng.random() < 0.6:
                events.append(bot(t, rng.choice(WORDS) or "好的"))
            if rng.random() < 0.15:
                events.append(bot(t, rng.choice(WORDS) or "稍等", staff="wang.staff"))
            events.append(action(t, "action_listen"))
        t += rng.choice((3600, 2 * 86400))
    return events


Events = list[dict[str, Any]]


def interleave(
    rng: random.Random, by_sender: dict[str, Events]
) -> list[tuple[str, dict[str, Any]]]:
    """All events in one insertion order, each sender's own order kept (as Rasa writes)."""
    queues = {k: list(v) for k, v in by_sender.items() if v}
    out: list[tuple[str, dict[str, Any]]] = []
    while queues:
        sender = rng.choice(sorted(queues))
        out.append((sender, queues[sender].pop(0)))
        if not queues[sender]:
            del queues[sender]
    return out


def write_events(db: Database, rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Rows as the event broker writes them, in transactions of a thousand."""
    for i in range(0, len(rows), 1000):
        batch = [{"sender_id": sender, "data": json.dumps({"sender_id": sender, **e},
                                                           ensure_ascii=False)}
                 for sender, e in rows[i : i + 1000]]  # fmt: skip
        with db.write_core() as conn:
            conn.execute(insert(ConversationEvent.__table__), batch)


def identities(db: Database, elder_id: int) -> set[str]:
    """The elder's conversations: their identities as Rasa's sender ids."""
    with db.read() as s:
        rows = s.execute(
            select(m.ChannelIdentity.channel, m.ChannelIdentity.external_id).where(
                m.ChannelIdentity.person_id == elder_id
            )
        )
        return {sender_id(channel, external) for channel, external in rows}


def python_keeps(c: Conversation, f: Filters, tz: tzinfo, threshold: float,
                 elder_senders: Optional[set[str]] = None) -> bool:  # fmt: skip
    """The filter answered on the parsed conversation (what the console did before)."""
    if f.elder_id is not None and c.id not in (elder_senders or set()):
        return False
    if f.has_alert is not None and c.has_alert != f.has_alert:
        return False
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
        if (c.low_confidence_turns(threshold) > 0) != f.low_confidence:
            return False
    if f.date_from or f.date_to:
        start = datetime.combine(f.date_from, time(0), tzinfo=tz) if f.date_from else None
        end = (
            datetime.combine(f.date_to + timedelta(days=1), time(0), tzinfo=tz)
            if f.date_to
            else None
        )
        if not any((start is None or t.at >= start) and (end is None or t.at < end)
                   for t in c.user_turns):  # fmt: skip
            return False
    return True


def random_filters(rng: random.Random, elder_ids: list[int]) -> Filters:
    pick: dict[str, Any] = {}
    if rng.random() < 0.3:
        pick["channel"] = rng.choice(CHANNELS + ("voice",))
    if rng.random() < 0.3:
        pick["language"] = rng.choice(("zh", "en"))
    if rng.random() < 0.3:
        pick["intent"] = rng.choice(INTENTS + ("ask_menu",))
    for name in ("handed_off", "has_alert", "low_confidence"):
        if rng.random() < 0.25:
            pick[name] = rng.choice((True, False))
    if rng.random() < 0.2 and elder_ids:
        pick["elder_id"] = rng.choice(elder_ids)
    if rng.random() < 0.3:
        day = date(2026, 11, 20) + timedelta(days=rng.randint(-1, 10))
        if rng.random() < 0.5:
            pick["date_from"] = day
        if rng.random() < 0.5:
            pick["date_to"] = day + timedelta(days=rng.randint(0, 3))
    if rng.random() < 0.3:
        pick["q"] = rng.choice(NEEDLES)
    return Filters(**pick)
