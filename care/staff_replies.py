"""Staff replies in a handed-off conversation: an outbox until the person's channel has them.

A reply is kept as a ``channel_inbox`` row on the pseudo-channel ``staff>{channel}``
(sender = the conversation id, ``answered_at`` = delivered). That table already has
what an outbox needs — text, attempts, a lease and a delivered time — so no migration;
the prefix keeps these rows out of every real channel's inbox polls.

Delivery is claimed with one conditional UPDATE (``answered_at IS NULL``), so two
processes (or a poll racing a webhook) never deliver the same reply twice. Pushing
channels (WeChat, Telegram) claim, send, and give the reply back on failure;
REST and voice take what is waiting when the person is next there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import insert, select, update

from care import models as m
from care.clock import Clock
from care.db import Database
from care.language import detect_language

PREFIX = "staff>"
MAX_CHARS = 1000  # short enough for one WeChat customer-service message (2048 bytes)


@dataclass(frozen=True)
class StaffReply:
    id: int
    channel: str
    conversation_id: str
    text: str
    staff: str
    created_at: datetime


def _outbox(channel: str) -> str:
    return (PREFIX + channel)[:32]  # the column's width


class StaffReplies:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def queue(self, channel: str, conversation_id: str, text: str, staff: str) -> int:
        """Keep a reply for delivery on ``channel``; returns its id."""
        with self.db.write() as s:
            result = s.execute(
                insert(m.ChannelInbox).values(
                    channel=_outbox(channel),
                    sender_id=conversation_id,
                    text=text,
                    meta={"staff": staff},
                    received_at=self.clock(),
                    attempts=0,
                )
            )
            return int(result.inserted_primary_key[0])

    def pending(
        self, channel: str, conversation_id: Optional[str] = None, limit: int = 50
    ) -> list[StaffReply]:
        """Undelivered replies on ``channel`` (of one conversation if given), oldest first."""
        with self.db.read() as s:
            stmt = select(m.ChannelInbox).where(
                m.ChannelInbox.channel == _outbox(channel), m.ChannelInbox.answered_at.is_(None)
            )
            if conversation_id is not None:
                stmt = stmt.where(m.ChannelInbox.sender_id == conversation_id)
            rows = s.scalars(stmt.order_by(m.ChannelInbox.id).limit(limit)).all()
            return [
                StaffReply(r.id, channel, r.sender_id, r.text, str((r.meta or {}).get("staff", "")),
                           r.received_at)  # fmt: skip
                for r in rows
            ]

    def claim(self, reply_id: int) -> bool:
        """Take a reply for delivery; False if another process already has it."""
        with self.db.write() as s:
            result = s.execute(
                update(m.ChannelInbox)
                .where(m.ChannelInbox.id == reply_id, m.ChannelInbox.answered_at.is_(None))
                .values(answered_at=self.clock(), attempts=m.ChannelInbox.attempts + 1)
            )
            return bool(result.rowcount)

    def unclaim(self, reply_id: int) -> None:
        """Sending failed: the reply waits for the next round."""
        with self.db.write() as s:
            s.execute(
                update(m.ChannelInbox)
                .where(m.ChannelInbox.id == reply_id)
                .values(answered_at=None)
            )

    def take(self, channel: str, conversation_id: str) -> list[StaffReply]:
        """Every waiting reply of one conversation, claimed for the caller (REST, voice):
        each is handed out once, whoever asks first."""
        return [r for r in self.pending(channel, conversation_id) if self.claim(r.id)]


def take_for_voice(db: Database, clock: Clock, channel: str, conversation_id: str) -> list[str]:
    """What the voice channel speaks when a call of this conversation is live (or at the
    start of the next call): the waiting staff replies' texts, each handed out once."""
    return [r.text for r in StaffReplies(db, clock).take(channel, conversation_id)]


# Said before a staff reply in a call, so the elder knows a person is speaking now.
STAFF_SAYS = {"zh": "工作人员说：{text}", "en": "A member of staff says: {text}"}


def as_spoken(text: str, language: Optional[str]) -> str:
    """A staff reply as the voice says it: in the reply's own language when it has one
    (the prefix and the words in one voice), else the call's."""
    said_in = detect_language(text) or language
    return STAFF_SAYS["en" if said_in == "en" else "zh"].format(text=text.strip())
