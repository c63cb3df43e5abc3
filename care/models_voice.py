"""The table of kept voice turns: what was heard, and where its audio is on disk.

A row links to its conversation by channel, sender id and message id (the ids Rasa's
events carry), not by a foreign key to ``events``: the event broker writes those rows in
batches, after the turn. ``path`` is relative to the recordings directory and made by
us, never from user input; it is NULL when the person did not consent to keeping their
voice (the transcript alone is kept). Imported by care.models, so Alembic sees it.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.sql.schema import Column

from care.models import Base, UTCDateTime


class VoiceRecording(Base):
    __tablename__ = "voice_recordings"
    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    sender_id = Column(String(255), nullable=False)
    message_id = Column(String(255))
    # SET NULL: erasing a person must not wait on their recordings' retention.
    person_id = Column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    transcript = Column(Text, nullable=False)
    language = Column(String(8))
    duration_s = Column(Float, nullable=False)
    path = Column(String(255))
    content_type = Column(String(64))
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False, index=True)
    __table_args__ = (Index("ix_voice_recordings_sender", "channel", "sender_id", "created_at"),)
