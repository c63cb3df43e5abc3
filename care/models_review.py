"""Tables of conversation review: Rasa's event log, its summary index, and NLU corrections.

``events`` is the table Rasa's own ``SQLEventBroker`` writes (id, sender_id, data as
JSON text), so any Rasa tool that reads that table reads ours; anxin.event_broker fills
it in batches. The index on ``sender_id`` is ours: the console reads one conversation
at a time. Imported by care.models, so Alembic sees every table here.

The ``conversation_*`` tables are a read model of ``events`` kept by
care.conversation_index, so that every console filter is a SQL predicate over all
conversations: one summary row per sender, its channels, languages and intents as
indexed (kind, value) rows, and each user turn's time and intent confidence (a date
range and a low-confidence threshold are asked of those, so changing
ANXIN_REVIEW_LOW_CONFIDENCE needs no rebuild).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.schema import Column

from care.models import Base, UTCDateTime, _in

FACET_KINDS = ("channel", "language", "intent")
FACET_MAX = 80  # as long as a filter value may be (care.conversation_log.NAME)


class ConversationEvent(Base):
    __tablename__ = "events"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), index=True)
    data = Column(Text)


class NluCorrection(Base):
    """A user message staff flagged as misunderstood, with the intent it should have had.

    ``event_id`` and ``sender_id`` are cleared when retention deletes the conversation
    (care.conversation_retention): the text and intents stay, as training data.
    """

    __tablename__ = "nlu_corrections"
    __table_args__ = (UniqueConstraint("event_id", name="uq_nlu_corrections_event_id"),)
    id = Column(Integer, primary_key=True)
    event_id = Column(ForeignKey("events.id", ondelete="SET NULL"))
    sender_id = Column(String(255))
    text = Column(Text, nullable=False)
    language = Column(String(8), nullable=False)
    predicted_intent = Column(String(80))
    correct_intent = Column(String(80), nullable=False)
    flagged_by = Column(String(80), nullable=False)
    flagged_at = Column(UTCDateTime, nullable=False)


class ConversationIndexState(Base):
    """The one row saying how far the summary has read ``events`` (ids up to and with)."""

    __tablename__ = "conversation_index_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    id = Column(Integer, primary_key=True)
    last_event_id = Column(Integer, nullable=False, server_default="0")


class ConversationSummary(Base):
    """One conversation (a Rasa sender id) as the list's filters need it."""

    __tablename__ = "conversation_summaries"
    sender_id = Column(String(255), primary_key=True)
    first_at = Column(UTCDateTime, nullable=False)  # its earliest event's timestamp
    last_at = Column(UTCDateTime, nullable=False, index=True)  # latest: retention reads it
    last_event_id = Column(Integer, nullable=False, index=True)  # the list's order
    # As the channel identities said at the last catch-up; filters ask the identities.
    elder_id = Column(ForeignKey("people.id", ondelete="SET NULL"))
    turn_count = Column(Integer, nullable=False)  # user messages
    handed_off = Column(Boolean, nullable=False)
    min_confidence = Column(Float)  # lowest intent confidence of a user turn


class ConversationFacet(Base):
    """A channel, language or intent seen in a conversation's user turns."""

    __tablename__ = "conversation_facets"
    __table_args__ = (CheckConstraint(_in("kind", FACET_KINDS), name="kind"),)
    kind = Column(String(16), primary_key=True)
    value = Column(String(FACET_MAX), primary_key=True)
    sender_id = Column(
        ForeignKey("conversation_summaries.sender_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )


class ConversationTurn(Base):
    """A user message's time and intent confidence (the event it was, by id)."""

    __tablename__ = "conversation_turns"
    __table_args__ = (
        Index("ix_conversation_turns_sender_at", "sender_id", "at"),
        Index("ix_conversation_turns_at", "at", "sender_id"),
    )
    event_id = Column(Integer, primary_key=True, autoincrement=False)
    sender_id = Column(
        ForeignKey("conversation_summaries.sender_id", ondelete="CASCADE"), nullable=False
    )
    at = Column(UTCDateTime, nullable=False)
    confidence = Column(Float)
