"""Conversation retention: conversations idle longer than the retention period are deleted.

``ANXIN_CONVERSATION_RETENTION_DAYS`` (default 365; ``0`` or ``off`` keeps everything):
a conversation whose latest event is older goes, its ``events`` rows and its summary
rows together, in one transaction with an audit entry of the counts (``system``,
``conversations.purge``). What stays: the audit log (who looked at what),
alerts and bookings (records of care, not of the chat), and staff NLU corrections,
whose text and intents are training data; their ``event_id`` and ``sender_id`` are
cleared, since the conversation they pointed at is gone and a sender id names a person
on a channel.

Live conversations are safe: only a conversation idle for the whole period is a
candidate, and one that got an event after the summary was brought up to date (its
events reach past the summary's last id) is skipped. Rasa's tracker store (Redis or
anxin.tracker_store's memory, never this table) keeps its own copy of the dialogue,
so a person who comes back after a purge talks on as before; the console then shows
a new conversation from that message on.

The action server purges hourly (``Purger``), ``anxin conversations purge`` at once.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.sql import Select

from care import audit
from care.clock import Clock, system_clock
from care.conversation_index import catch_up, lower_watermark
from care.db import Database
from care.models_review import ConversationEvent as Ev
from care.models_review import ConversationFacet as Facet
from care.models_review import ConversationIndexState as State
from care.models_review import ConversationSummary as Summary
from care.models_review import ConversationTurn as TurnRow
from care.models_review import NluCorrection
from care.periodic import Every

log = logging.getLogger(__name__)

RETENTION_DAYS = 365
PURGE_EVERY_S = 3600.0
PER_TRANSACTION = 500  # conversations deleted per transaction
_OFF = ("0", "off", "no", "false", "forever")


@dataclass(frozen=True)
class Retention:
    days: Optional[int] = RETENTION_DAYS  # None: keep forever
    purge_every_s: float = PURGE_EVERY_S

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> Retention:
        env = os.environ if environ is None else environ
        raw = (env.get("ANXIN_CONVERSATION_RETENTION_DAYS") or str(RETENTION_DAYS)).strip()
        every = env.get("ANXIN_CONVERSATION_PURGE_S")
        try:
            every_s = float(every) if every else PURGE_EVERY_S
        except ValueError:
            raise SystemExit(f"ANXIN_CONVERSATION_PURGE_S={every!r} is not a number") from None
        if every_s <= 0:
            raise SystemExit(f"ANXIN_CONVERSATION_PURGE_S={every!r}: more than 0 seconds")
        if raw.lower() in _OFF:
            return cls(None, every_s)
        if not raw.isdigit():
            # Refused, not defaulted: a typo must not start deleting a year of history.
            raise SystemExit(
                f"ANXIN_CONVERSATION_RETENTION_DAYS={raw!r}: a number of days, or 0 / off"
            )
        return cls(int(raw), every_s)


@dataclass(frozen=True)
class Purged:
    conversations: int
    events: int
    corrections_kept: int  # unlinked from their deleted conversation


def purge(db: Database, now: datetime, retention: Optional[Retention] = None) -> Purged:
    """Delete the conversations whose latest event is older than the retention period."""
    retention = retention or Retention.from_env()
    if retention.days is None:
        return Purged(0, 0, 0)
    catch_up(db)  # idleness is read from the summary: make it current first
    cutoff = now - timedelta(days=retention.days)
    conversations = events = corrections = 0
    while True:
        with db.write() as s:
            # The watermark row orders us with catch-ups: neither sees the other half done.
            s.execute(db.lock(select(State.id).where(State.id == 1), State))
            idle = s.execute(
                select(Summary.sender_id, Summary.last_event_id)
                .where(Summary.last_at < cutoff)
                .order_by(Summary.last_at)
                .limit(PER_TRANSACTION)
            ).all()
            if not idle:
                break
            gone = _still_idle(s, dict(idle))
            if gone:
                unlinked = _unlink_corrections(s, gone)
                deleted = _delete_events(s, gone)
                # In the same transaction: no deletion without its audit entry (counts only).
                audit.record(s, now, audit.SYSTEM, "conversations.purge", "conversations",
                             detail={"conversations": len(gone), "events": deleted,
                                     "corrections_kept": unlinked,
                                     "retention_days": retention.days})  # fmt: skip
                corrections, events = corrections + unlinked, events + deleted
            # A conversation that came back is resummarised by the next catch-up, which
            # will see its new events; drop its stale row so this loop moves on.
            senders = list(dict(idle))
            for table in (TurnRow, Facet, Summary):
                s.execute(delete(table).where(table.sender_id.in_(senders)))
            lower_watermark(s)
            conversations += len(gone)
    if conversations:
        # Counts only: which conversations went would say who talked to us.
        log.info("conversations purged: %d (%d events); %d corrections kept", conversations,
                 events, corrections)  # fmt: skip
    return Purged(conversations, events, corrections)


def _still_idle(s: Any, last_ids: dict[str, int]) -> dict[str, int]:
    """The senders with no event past the one the summary last saw."""
    newest = dict(
        s.execute(
            select(Ev.sender_id, func.max(Ev.id))
            .where(Ev.sender_id.in_(list(last_ids)))
            .group_by(Ev.sender_id)
        ).all()
    )
    return {k: v for k, v in last_ids.items() if newest.get(k, 0) <= v}


def _own_events(gone: dict[str, int]) -> Select:
    # Only the events the summary saw: one arriving now (a person coming back) stays.
    return (
        select(Ev.id)
        .join(Summary, and_(Summary.sender_id == Ev.sender_id, Ev.id <= Summary.last_event_id))
        .where(Ev.sender_id.in_(list(gone)))
    )


def _unlink_corrections(s: Any, gone: dict[str, int]) -> int:
    done = s.execute(
        update(NluCorrection)
        .where(NluCorrection.event_id.in_(_own_events(gone)))
        .values(event_id=None, sender_id=None)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)


def _delete_events(s: Any, gone: dict[str, int]) -> int:
    done = s.execute(
        delete(Ev).where(Ev.id.in_(_own_events(gone))).execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0)


class Purger:
    """Purges in a daemon thread, at start and every ``purge_every_s``: the action server
    runs one (anxin/action_server.py) beside the recordings' purger. Several processes
    purging at once take turns on the watermark row. Each round brings the conversation
    summary up to date first (with retention off, that is all it does)."""

    def __init__(
        self, db: Database, retention: Optional[Retention] = None, clock: Clock = system_clock
    ) -> None:
        self.db, self.clock = db, clock
        self.retention = retention or Retention.from_env()
        self._every = Every("conversations-purge", self.retention.purge_every_s, self._round,
                            "conversations were not purged")  # fmt: skip

    def start(self) -> Purger:
        self._every.start()
        return self

    def stop(self) -> None:
        self._every.stop()

    def _round(self) -> None:
        if self.retention.days is None:
            # Nothing to delete, but the summary is still kept current here, so the
            # first search after an upgrade does not wait for the backlog.
            catch_up(self.db)
        else:
            purge(self.db, self.clock(), self.retention)


def purge_command(db: Database, now: datetime) -> int:
    """``anxin conversations purge``: one purge, and what it removed."""
    retention = Retention.from_env()
    if retention.days is None:
        print("anxin: conversations are kept forever (ANXIN_CONVERSATION_RETENTION_DAYS=off)")
        return 0
    done = purge(db, now, retention)
    print(f"anxin: conversations idle over {retention.days} days purged: "
          f"{done.conversations} ({done.events} events); "
          f"{done.corrections_kept} NLU corrections kept without their conversation")  # fmt: skip
    return 0
