"""What the channels share between processes: receipts, platform tokens, the inbox.

In the database (SQLite or PostgreSQL, the same one as the rest of ``care/``), so a
platform's retry that reaches another Rasa replica, or arrives after a restart, is
still recognised, and a message the assistant could not answer yet survives a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from care import models as m
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
    ) -> Optional[int]:
        """A message's first delivery, kept in the inbox and leased to the caller's turn.

        The receipt and the inbox row are one transaction: with the receipt first and
        the row only on failure, a crash between the two made every retry a duplicate
        and the message was never answered. Now a crash leaves the row, its lease
        lapses, and whoever polls next answers it. None for a retry (the key is known).
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
                    },
                )
                inbox_id = int(result.inserted_primary_key[0])
        except IntegrityError:
            return None
        return inbox_id

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

    def held(self, channel: str, limit: int = 50) -> list[HeldMessage]:
        """Unanswered messages of a channel, oldest first."""
        with self.db.read() as s:
            rows = s.scalars(
                select(m.ChannelInbox)
                .where(m.ChannelInbox.answered_at.is_(None), m.ChannelInbox.channel == channel)
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
                    m.ChannelInbox.answered_at.is_(None),
                    m.ChannelInbox.channel == channel,
                    or_(m.ChannelInbox.leased_until.is_(None), m.ChannelInbox.leased_until <= now),
                )
                .order_by(m.ChannelInbox.id)
                .limit(limit)
            ).all()
            return [HeldMessage.of(r) for r in rows]

    def lease(self, inbox_id: int, for_: timedelta = timedelta(minutes=2)) -> bool:
        """Take a held message to answer it now, counting the attempt.

        False while another process holds an unexpired lease, or once it is answered:
        with several Rasa workers or replicas, each held message runs one turn at a time.
        """
        now = self.clock()
        with self.db.write() as s:
            result = s.execute(
                update(m.ChannelInbox)
                .where(
                    m.ChannelInbox.id == inbox_id,
                    m.ChannelInbox.answered_at.is_(None),
                    or_(m.ChannelInbox.leased_until.is_(None), m.ChannelInbox.leased_until <= now),
                )
                .values(attempts=m.ChannelInbox.attempts + 1, leased_until=now + for_)
            )
            return bool(result.rowcount)

    def release(self, inbox_id: int) -> None:
        """The turn failed: the held message may be tried again at the next round."""
        with self.db.write() as s:
            s.execute(
                update(m.ChannelInbox)
                .where(m.ChannelInbox.id == inbox_id)
                .values(leased_until=None)
            )

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
