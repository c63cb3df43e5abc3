"""Tables of conversation review: Rasa's event log and the staff's NLU corrections.

``events`` is the table Rasa's own ``SQLEventBroker`` writes (id, sender_id, data as
JSON text), so any Rasa tool that reads that table reads ours; anxin.event_broker fills
it in batches. The index on ``sender_id`` is ours: the console reads one conversation
at a time. Imported by care.models, so Alembic sees both tables.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.sql.schema import Column

from care.models import Base, UTCDateTime


class ConversationEvent(Base):
    __tablename__ = "events"
    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), index=True)
    data = Column(Text)


class NluCorrection(Base):
    """A user message staff flagged as misunderstood, with the intent it should have had."""

    __tablename__ = "nlu_corrections"
    __table_args__ = (UniqueConstraint("event_id", name="uq_nlu_corrections_event_id"),)
    id = Column(Integer, primary_key=True)
    event_id = Column(ForeignKey("events.id", ondelete="CASCADE"), nullable=False)
    sender_id = Column(String(255), nullable=False)
    text = Column(Text, nullable=False)
    language = Column(String(8), nullable=False)
    predicted_intent = Column(String(80))
    correct_intent = Column(String(80), nullable=False)
    flagged_by = Column(String(80), nullable=False)
    flagged_at = Column(UTCDateTime, nullable=False)
