"""What the channels share between processes: receipts, platform tokens, the inbox.

In the database (SQLite or PostgreSQL, the same one as the rest of ``care/``), so a
platform's retry that reaches another Rasa replica, or arrives after a restart, is
still recognised, and a message the assistant could not answer yet survives a crash.

A message that crashed its process is not replayed into a crash loop. The attempt is
written down before the work on it begins (``working_since``: by ``take_in``, ``lease``
or ``begin``) and cleared when the work ends, answered or released for later; a process
that dies mid-work leaves the mark. A round that finds a message marked whose lease
lapsed quarantines it (``set_aside_crashed``): kept, marked, never processed again, and
a ``message_failed`` alert for staff in the same transaction. The channel then tells the
person. A stop that cancels work releases it, so only a real death quarantines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from care import models as m
from care import senders
from care.alerts import insert_alert
from care.clock import Clock
from care.db import Database

# The statements every WeChat and Telegram message runs, in the Rasa process: built
# once, so SQLAlchemy neither rebuilds them nor recomputes their cache keys, and run
# on a plain connection (take_in + answered: 4.4 → 0.8 ms of CPU on SQLite, measured).
_INBOX = m.ChannelInbox.__table__
_TAKE_RECEIPT = insert(m.ChannelReceipt.__table__)
_TAKE_INBOX = insert(_INBOX)
_OPEN = (_INBOX.c.id == bindparam("inbox_id"), _INBOX.c.answered_at.is_(None))
_ANSWER = update(_INBOX).where(*_OPEN).values(answered_at=bindparam("now"))
_RENEW = update(_INBOX).where(*_OPEN).values(leased_until=bindparam("until"))
_BEGIN = (
    update(_INBOX)
    .where(*_OPEN, _INBOX.c.quarantined_at.is_(None))
    .values(working_since=bindparam("now"))
)
# Rows a round may look at: neither answered nor set aside.
_LIVE = (m.ChannelInbox.answered_at.is_(None), m.ChannelInbox.quarantined_at.is_(None))
SUMMARY_QUOTE = 200  # characters of the message quoted in the staff alert


@dataclass(frozen=True)
class Outgoing:
    """A notification from the outbox, addressed to one identity on one channel."""

    notification_id: int
    person_id: int
    external_id: str
    kind: str
    message: str
    urgent: bool


@dataclass(frozen=True)
class HeldMessage:
    id: int
    channel: str
    sender_id: str
    text: str
    received_at: datetime
    attempts: int
    meta: dict[str, Any] = field(default_factory=dict)
    quarantined_at: Optional[datetime] = None

    @classmethod
    def of(cls, row: m.ChannelInbox) -> HeldMessage:
        return cls(
            id=row.id,
            channel=row.channel,
            sender_id=row.sender_id,
            text=row.text,
            received_at=row.received_at,
            attempts=row.attempts,
            meta=dict(row.meta or {}),
            quarantined_at=row.quarantined_at,
        )


def crash_summary(channel: str, text: str, voice: bool) -> str:
    """The staff alert for a message set aside: what it was, what happened, what to do."""
    where = {"telegram": "Telegram", "wechat": "WeChat"}.get(channel, channel)
    what = f"A {where} voice message" if voice else f"A {where} message"
    quoted = text.strip()
    if len(quoted) > SUMMARY_QUOTE:
        quoted = quoted[:SUMMARY_QUOTE] + "…"
    said = f" It said: “{quoted}”." if quoted else ""
    return (
        f"{what} stopped the assistant while it was being handled, so it was set aside "
        f"and not tried again.{said} The person was asked to send it again or call the "
        "centre: please check they were answered."
    )


def _is_voice_update(meta: Optional[dict]) -> bool:
    """A kept Telegram update that carries a voice note, audio file or video note."""
    update = (meta or {}).get("update")
    message = update.get("message") if isinstance(update, dict) else None
    return isinstance(message, dict) and any(
        k in message for k in ("voice", "audio", "video_note")
    )


class ChannelStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # Receipts -----------------------------------------------------------------

    def first_delivery(self, channel: str, key: str) -> bool:
        """True the first time (channel, key) is seen, False for every retry, in any process."""
        try:
            with self.db.write() as s:
                s.add(m.ChannelReceipt(channel=channel, key=key, received_at=self.clock()))
                s.flush()
        except IntegrityError:
            return False
        return True

    def forget_receipts(self, older_than: timedelta) -> int:
        """Drop receipts past any platform's retry window (WeChat: seconds, Telegram: a day)."""
        with self.db.write() as s:
            result = s.execute(
                delete(m.ChannelReceipt).where(
                    m.ChannelReceipt.received_at < self.clock() - older_than
                )
            )
            return int(result.rowcount or 0)

    # Tokens -------------------------------------------------------------------

    def token(self, name: str, margin: timedelta = timedelta(minutes=5)) -> Optional[str]:
        """A stored token that stays valid for at least ``margin``, else None (refresh it)."""
        with self.db.read() as s:
            row = s.get(m.ChannelToken, name)
            if row is None or row.expires_at - margin <= self.clock():
                return None
            return str(row.value)

    def save_token(self, name: str, value: str, expires_at: datetime) -> None:
        with self.db.write() as s:
            row = s.get(m.ChannelToken, name)
            if row is None:
                s.add(m.ChannelToken(name=name, value=value, expires_at=expires_at))
            else:
                row.value, row.expires_at = value, expires_at

    # Inbox --------------------------------------------------------------------

    def hold(self, channel: str, sender_id: str, text: str, meta: Optional[dict] = None) -> int:
        """Keep a message that could not be answered now; returns its inbox id."""
        with self.db.write() as s:
            row = m.ChannelInbox(
                channel=channel,
                sender_id=sender_id,
                text=text,
                meta=meta or {},
                received_at=self.clock(),
            )
            s.add(row)
            s.flush()
            return int(row.id)

    def take_in(
        self,
        channel: str,
        key: str,
        sender_id: str,
        text: str,
        meta: Optional[dict] = None,
        lease: timedelta = timedelta(seconds=20),
        working: bool = True,
    ) -> Optional[int]:
        """A message's first delivery, kept in the inbox and leased to the caller's turn.

        The receipt and the inbox row are one transaction: with the receipt first and
        the row only on failure, a crash between the two made every retry a duplicate
        and the message was never answered. Now a crash leaves the row, its lease
        lapses, and whoever polls next answers it. None for a retry (the key is known).
        ``working``: its work begins now (the attempt is marked in the same insert);
        False when it first waits its turn, and ``begin`` marks it when the work begins.
        """
        now = self.clock()
        try:
            with self.db.write_core() as conn:
                conn.execute(_TAKE_RECEIPT, {"channel": channel, "key": key, "received_at": now})
                result = conn.execute(
                    _TAKE_INBOX,
                    {
                        "channel": channel,
                        "sender_id": sender_id,
                        "text": text,
                        "meta": meta or {},
                        "received_at": now,
                        "attempts": 1,
                        "leased_until": now + lease,
                        "working_since": now if working else None,
                    },
                )
                inbox_id = int(result.inserted_primary_key[0])
        except IntegrityError:
            return None
        return inbox_id

    def begin(self, inbox_id: int) -> bool:
        """Mark that the work on a taken message begins: from now on, its process dying
        sets it aside instead of replaying it. False once it is answered or set aside."""
        with self.db.write_core() as conn:
            result = conn.execute(_BEGIN, {"inbox_id": inbox_id, "now": self.clock()})
            return bool(result.rowcount)

    def renew(self, inbox_id: int, for_: timedelta) -> bool:
        """Keep the lease of a message whose turn is still running; False once answered."""
        with self.db.write_core() as conn:
            result = conn.execute(_RENEW, {"inbox_id": inbox_id, "until": self.clock() + for_})
            return bool(result.rowcount)

    def forget_answered(self, channel: str, older_than: timedelta) -> int:
        """Drop answered messages of a channel that keeps every message while it is answered:
        they are what people wrote, and the conversation already has them."""
        with self.db.write() as s:
            result = s.execute(
                delete(m.ChannelInbox).where(
                    m.ChannelInbox.channel == channel,
                    m.ChannelInbox.answered_at < self.clock() - older_than,
                )
            )
            return int(result.rowcount or 0)

    def forget_set_aside(self, channel: str, older_than: timedelta) -> int:
        """Drop messages set aside long ago: their alert (with its quote) stays for staff."""
        with self.db.write() as s:
            result = s.execute(
                delete(m.ChannelInbox).where(
                    m.ChannelInbox.channel == channel,
                    m.ChannelInbox.quarantined_at < self.clock() - older_than,
                )
            )
            return int(result.rowcount or 0)

    def held(self, channel: str, limit: int = 50) -> list[HeldMessage]:
        """Unanswered messages of a channel, oldest first (not those set aside)."""
        with self.db.read() as s:
            rows = s.scalars(
                select(m.ChannelInbox)
                .where(*_LIVE, m.ChannelInbox.channel == channel)
                .order_by(m.ChannelInbox.id)
                .limit(limit)
            ).all()
            return [HeldMessage.of(r) for r in rows]

    def waiting(self, channel: str, limit: int = 50) -> list[HeldMessage]:
        """Held messages no process is answering now (never leased, released, or the lease
        lapsed), oldest first: what a poll may take, without asking whether the assistant
        is up because of a turn that is still running."""
        now = self.clock()
        with self.db.read() as s:
            rows = s.scalars(
                select(m.ChannelInbox)
                .where(
                    *_LIVE,
                    m.ChannelInbox.channel == channel,
                    or_(m.ChannelInbox.leased_until.is_(None), m.ChannelInbox.leased_until <= now),
                )
                .order_by(m.ChannelInbox.id)
                .limit(limit)
            ).all()
            return [HeldMessage.of(r) for r in rows]

    def lease(self, inbox_id: int, for_: timedelta = timedelta(minutes=2)) -> bool:
        """Take a held message to answer it now, counting the attempt and marking that its
        work begins (the caller starts it at once).

        False while another process holds an unexpired lease, once it is answered, or
        when an attempt began and never ended: with several Rasa workers or replicas,
        each held message runs one turn at a time, and a message that crashed a process
        runs no more (``set_aside_crashed`` takes it).
        """
        now = self.clock()
        with self.db.write() as s:
            result = s.execute(
                update(m.ChannelInbox)
                .where(
                    m.ChannelInbox.id == inbox_id,
                    *_LIVE,
                    or_(m.ChannelInbox.leased_until.is_(None), m.ChannelInbox.leased_until <= now),
                    # An attempt that never ended (its process died): to be set aside.
                    m.ChannelInbox.working_since.is_(None),
                )
                .values(
                    attempts=m.ChannelInbox.attempts + 1,
                    leased_until=now + for_,
                    working_since=now,
                )
            )
            return bool(result.rowcount)

    def release(self, inbox_id: int) -> None:
        """The turn failed, or was stopped: the held message may be tried again at the
        next round (its attempt ended, so it is not taken for a crash)."""
        with self.db.write() as s:
            s.execute(
                update(m.ChannelInbox)
                .where(m.ChannelInbox.id == inbox_id)
                .values(leased_until=None, working_since=None)
            )

    def set_aside_crashed(self, channel: str, limit: int = 50) -> list[HeldMessage]:
        """Quarantine the channel's messages whose work began and never ended (their
        process died, and their lease lapsed), each with a ``message_failed`` alert in the
        same transaction; returns them, for the channel to tell the people. A row is set
        aside by one process only, however many look at once."""
        now = self.clock()
        crashed = (
            m.ChannelInbox.channel == channel,
            *_LIVE,
            m.ChannelInbox.working_since.is_not(None),
            m.ChannelInbox.leased_until.is_not(None),
            m.ChannelInbox.leased_until <= now,
        )
        with self.db.read() as s:
            ids = s.scalars(
                select(m.ChannelInbox.id).where(*crashed).order_by(m.ChannelInbox.id).limit(limit)
            ).all()
        aside: list[HeldMessage] = []
        for inbox_id in ids:
            with self.db.write() as s:
                taken = s.execute(
                    update(m.ChannelInbox)
                    .where(m.ChannelInbox.id == inbox_id, *crashed)
                    .values(quarantined_at=now, leased_until=None)
                )
                if not taken.rowcount:
                    continue  # another process set it aside, or it was answered meanwhile
                row = s.get(m.ChannelInbox, inbox_id)
                person_id = s.scalars(
                    select(m.ChannelIdentity.person_id).where(
                        m.ChannelIdentity.channel == channel,
                        m.ChannelIdentity.external_id == row.sender_id,
                    )
                ).first()
                voice = bool((row.meta or {}).get("voice")) or _is_voice_update(row.meta)
                insert_alert(
                    s,
                    now,
                    "message_failed",
                    crash_summary(channel, row.text, voice),
                    person_id=person_id,
                    conversation_id=senders.sender_id(channel, row.sender_id),
                    channel=channel,
                )
                aside.append(HeldMessage.of(row))
        return aside

    def set_aside(self, channel: Optional[str] = None, limit: int = 50) -> list[HeldMessage]:
        """Messages quarantined after a crash, newest first (for staff and operators)."""
        with self.db.read() as s:
            stmt = select(m.ChannelInbox).where(m.ChannelInbox.quarantined_at.is_not(None))
            if channel is not None:
                stmt = stmt.where(m.ChannelInbox.channel == channel)
            rows = s.scalars(stmt.order_by(m.ChannelInbox.id.desc()).limit(limit)).all()
            return [HeldMessage.of(r) for r in rows]

    def answered(self, inbox_id: int) -> bool:
        """Mark a held message answered; False if another process already did."""
        with self.db.write_core() as conn:
            result = conn.execute(_ANSWER, {"inbox_id": inbox_id, "now": self.clock()})
            return bool(result.rowcount)

    # Outbox -------------------------------------------------------------------

    def outbox(self, channel: str, limit: int = 50) -> list[Outgoing]:
        """Undelivered notifications for people reachable on ``channel``, urgent first."""
        with self.db.read() as s:
            rows = s.execute(
                select(m.Notification, m.ChannelIdentity.external_id)
                .join(m.ChannelIdentity, m.ChannelIdentity.person_id == m.Notification.person_id)
                .where(m.Notification.delivered_at.is_(None), m.ChannelIdentity.channel == channel)
                .order_by(m.Notification.urgent.desc(), m.Notification.id)
                .limit(limit)
            ).all()
            return [
                Outgoing(n.id, n.person_id, external_id, n.kind, n.message, bool(n.urgent))
                for n, external_id in rows
            ]

    def outbox_of(self, channel: str, external_id: str, limit: int = 20) -> list[Outgoing]:
        """Undelivered notifications for the person behind one identity, urgent first:
        what a channel that cannot push (REST, voice) hands out when that person is here."""
        with self.db.read() as s:
            rows = s.scalars(
                select(m.Notification)
                .join(m.ChannelIdentity, m.ChannelIdentity.person_id == m.Notification.person_id)
                .where(
                    m.Notification.delivered_at.is_(None),
                    m.ChannelIdentity.channel == channel,
                    m.ChannelIdentity.external_id == external_id,
                )
                .order_by(m.Notification.urgent.desc(), m.Notification.id)
                .limit(limit)
            ).all()
            return [
                Outgoing(n.id, n.person_id, external_id, n.kind, n.message, bool(n.urgent))
                for n in rows
            ]

    def claim(self, notification_id: int, channel: str) -> bool:
        """Take a notification for sending; False if another channel or process has it."""
        with self.db.write() as s:
            result = s.execute(
                update(m.Notification)
                .where(m.Notification.id == notification_id, m.Notification.delivered_at.is_(None))
                .values(
                    delivered_at=self.clock(),
                    delivered_channel=channel,
                    attempts=m.Notification.attempts + 1,
                )
            )
            return bool(result.rowcount)

    def unclaim(self, notification_id: int) -> None:
        """Sending failed: the notification goes back to the outbox for the next try."""
        with self.db.write() as s:
            s.execute(
                update(m.Notification)
                .where(m.Notification.id == notification_id)
                .values(delivered_at=None, delivered_channel=None)
            )
