"""The conversation summary, kept current from Rasa's ``events`` rows.

``catch_up`` reads the events past a stored watermark (``conversation_index_state``),
re-parses every sender that got one (all its events, with care.conversations.parse, so
the summary says what the conversation view says) and replaces that sender's summary,
facets and turns, then moves the watermark: one transaction per batch, so a crash
leaves the old summary and the old watermark, and the next catch-up does the batch
again. Catch-ups are serialised by the watermark row (``FOR UPDATE`` on PostgreSQL,
SQLite's one writer) and replace rows rather than add to counts, so two readers
catching up at once cannot count anything twice.

Which ids are safe to pass: PostgreSQL hands out ids from a sequence before the
inserting transaction commits, so a larger id can be visible while a smaller one is
still to come. The watermark only moves up to a horizon read under ``LOCK TABLE events
IN SHARE MODE``, which waits for inserts under way (and holds new ones back for that
one statement): every id up to the horizon is then committed or never will be.
On SQLite one writer at a time takes the next id after every committed one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update

from care import models as m
from care.conversations import Conversation, event_json, parse, when
from care.db import Database
from care.models_review import FACET_MAX
from care.models_review import ConversationEvent as Ev
from care.models_review import ConversationFacet as Facet
from care.models_review import ConversationIndexState as State
from care.models_review import ConversationSummary as Summary
from care.models_review import ConversationTurn as TurnRow
from care.senders import UNKNOWN, split_sender

log = logging.getLogger(__name__)

BATCH_EVENTS = 20_000  # events read past the watermark per transaction
SENDERS_PER_READ = 200  # senders whose events are loaded in one query


@dataclass(frozen=True)
class CaughtUp:
    senders: int  # conversations (re)summarised
    events: int  # events past the watermark that were read
    watermark: int


def watermark(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(State.last_event_id).where(State.id == 1)).scalar_one())


def _latest(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.coalesce(func.max(Ev.id), 0))).scalar_one())


def _horizon(db: Database) -> int:
    """The largest event id below which no insert is still under way."""
    if db.is_sqlite:
        return _latest(db)
    with db.engine.begin() as conn:
        conn.execute(text("LOCK TABLE events IN SHARE MODE"))
        return int(conn.execute(select(func.coalesce(func.max(Ev.id), 0))).scalar_one())


def catch_up(db: Database, batch_events: int = BATCH_EVENTS) -> CaughtUp:
    """Bring the summary up to the events committed now; cheap when nothing is new."""
    senders = events = 0
    mark = watermark(db)
    if _latest(db) <= mark:  # the usual case: two indexed reads, no write
        return CaughtUp(0, 0, mark)
    horizon = _horizon(db)
    while True:
        with db.write() as s:
            mark = s.execute(db.lock(select(State).where(State.id == 1), State)).scalar_one()
            start = mark.last_event_id
            if start >= horizon:
                return CaughtUp(senders, events, start)
            window = s.execute(
                select(Ev.id, Ev.sender_id)
                .where(Ev.id > start, Ev.id <= horizon)
                .order_by(Ev.id)
                .limit(batch_events)
            ).all()
            upper = window[-1][0] if window else horizon
            if len(window) < batch_events:
                upper = horizon  # nothing else below the horizon
            touched = sorted({sender for _id, sender in window if sender is not None})
            _resummarise(s, touched, upper)
            mark.last_event_id = upper
            senders, events = senders + len(touched), events + len(window)
        log.info("conversation index: %d conversation(s) summarised up to event %d", senders, upper)


def _resummarise(s: Any, senders: list[str], upper: int) -> None:
    """Replace the rows of ``senders`` with what their events up to ``upper`` say."""
    for i in range(0, len(senders), SENDERS_PER_READ):
        chunk = senders[i : i + SENDERS_PER_READ]
        by_sender: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for event_id, sender, data in s.execute(
            select(Ev.id, Ev.sender_id, Ev.data)
            .where(Ev.sender_id.in_(chunk), Ev.id <= upper)
            .order_by(Ev.sender_id, Ev.id)
        ):
            by_sender[sender].append((event_id, event_json(data)))
        elders = _elders(s, chunk)
        for table in (TurnRow, Facet, Summary):
            s.execute(delete(table).where(table.sender_id.in_(chunk)))
        summaries, facets, turns = [], [], []
        for sender in chunk:
            events = by_sender.get(sender)
            if not events:
                continue  # its events were deleted (retention) while it waited
            row, f, t = summarise(sender, events)
            row["elder_id"] = elders.get(sender)
            summaries.append(row)
            facets += f
            turns += t
        for table, rows in ((Summary, summaries), (Facet, facets), (TurnRow, turns)):
            if rows:
                s.execute(insert(table), rows)


def summarise(
    sender: str, events: list[tuple[int, dict[str, Any]]]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """One sender's summary row, facet rows and turn rows, from its events oldest first."""
    c = Conversation(id=sender, sessions=parse(events))
    said = c.user_turns
    confidences = [t.confidence for t in said if t.confidence is not None]
    stamps = [when(e) for _id, e in events]
    summary = {
        "sender_id": sender,
        "first_at": min(stamps),
        "last_at": max(stamps),
        "last_event_id": events[-1][0],
        "turn_count": len(said),
        "handed_off": c.handed_off,
        "min_confidence": min(confidences) if confidences else None,
    }
    facets = [
        {"kind": kind, "value": value, "sender_id": sender}
        for kind, values in (("channel", c.channels), ("language", c.languages),
                             ("intent", c.intents))
        for value in values
        if len(value) <= FACET_MAX  # longer than any filter may ask for
    ]  # fmt: skip
    turns = [
        {"event_id": t.event_id, "sender_id": sender, "at": t.at, "confidence": t.confidence}
        for t in said
    ]
    return summary, facets, turns


def _elders(s: Any, senders: list[str]) -> dict[str, int]:
    """The person each sender id names (care.senders: its channel and the person's id on
    it); a sender id that names no channel belongs to nobody."""
    wanted: dict[str, dict[str, str]] = defaultdict(dict)  # external id -> channel -> sender
    for sender in senders:
        channel, external = split_sender(sender)
        if channel != UNKNOWN:
            wanted[external][channel] = sender
    found: dict[str, int] = {}
    if not wanted:
        return found
    for external_id, channel, person_id in s.execute(
        select(m.ChannelIdentity.external_id, m.ChannelIdentity.channel,
               m.ChannelIdentity.person_id)
        .where(m.ChannelIdentity.external_id.in_(list(wanted)))
        .order_by(m.ChannelIdentity.id)
    ):  # fmt: skip
        named = wanted[external_id].get(channel)
        if named is not None:
            found.setdefault(named, person_id)
    return found


def lower_watermark(s: Any) -> None:
    """After deleting events: never above the largest id left.

    SQLite (without AUTOINCREMENT) gives the next row max(id) + 1, so deleting the
    newest events would hand their ids out again, below the watermark; on PostgreSQL
    this only means the next catch-up re-reads ids nobody holds.
    """
    left = select(func.coalesce(func.max(Ev.id), 0)).scalar_subquery()
    s.execute(
        update(State)
        .where(State.id == 1, State.last_event_id > left)
        .values(last_event_id=left)
        .execution_options(synchronize_session=False)
    )
