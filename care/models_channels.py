"""Tables the messaging channels share across processes: receipts, tokens, held messages.

They hold platform plumbing, not care data: which platform message was already taken
in, a short-lived platform credential, and what could not be answered yet. In their
own module so that care.models stays about the care domain; imported (and re-exported)
by care.models, so ``care.models.ChannelInbox`` keeps working and Alembic sees them.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.sql.schema import Column

from care.models_base import Base, UTCDateTime


class ChannelReceipt(Base):
    """A platform message already taken in (WeChat MsgId, Telegram update_id).

    The primary key makes "first time?" a single INSERT that only one process can win,
    so a retry that reaches another replica, or comes after a restart, is recognised.
    """

    __tablename__ = "channel_receipts"
    channel = Column(String(32), primary_key=True)
    key = Column(String(200), primary_key=True)
    received_at = Column(UTCDateTime, nullable=False, index=True)


class ChannelToken(Base):
    """A short-lived platform credential (WeChat access_token) shared by every process."""

    __tablename__ = "channel_tokens"
    name = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)


class ChannelInbox(Base):
    """A message the assistant could not answer yet (Rasa or the action server down).

    Kept until it is answered, so nothing a person says is silently lost. A message whose
    processing began (``working_since``) and never ended, because its process died, is
    quarantined (``quarantined_at``): kept, shown to staff, never processed again, so a
    message that crashes the assistant cannot crash it at every restart.
    """

    __tablename__ = "channel_inbox"
    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(200), nullable=False)
    text = Column(Text, nullable=False)
    meta = Column(JSON, nullable=False, default=dict)
    received_at = Column(UTCDateTime, nullable=False)
    attempts = Column(Integer, nullable=False, server_default="0")
    # One process at a time answers a held message (several Rasa workers or replicas).
    leased_until = Column(UTCDateTime)
    answered_at = Column(UTCDateTime)
    # Set in the database before the work on the message begins, cleared when it ends
    # (answered, or released for later): still set once its lease lapsed means a crash.
    working_since = Column(UTCDateTime)
    quarantined_at = Column(UTCDateTime)
    __table_args__ = (Index("ix_channel_inbox_pending", "answered_at", "channel", "id"),)


class WeChatNonce(Base):
    """A signed WeChat callback's ``(timestamp, nonce)``, kept while that timestamp is
    still accepted (care/nonces.py), with the message it carried.

    WeChat's signature covers only the token, timestamp and nonce, not the body: the
    unique pair makes a signed query string usable for one message only, in every
    process and replica. WeChat's own retries reuse the pair with the same message.
    """

    __tablename__ = "wechat_nonces"
    id = Column(Integer, primary_key=True)
    timestamp = Column(BigInteger, nullable=False)
    nonce = Column(String(64), nullable=False)
    message = Column(String(64), nullable=False)  # sha256 of (FromUserName, message key)
    expires_at = Column(UTCDateTime, nullable=False, index=True)
    __table_args__ = (UniqueConstraint("timestamp", "nonce"),)
