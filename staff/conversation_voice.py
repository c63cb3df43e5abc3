"""Which turns of a conversation were spoken: the conversation page and the JSON API
both mark them from one lookup (care.recordings.of_turns, by channel and message id).

Only staff get what leads to the audio: a volunteer learns that a turn was spoken and
how long it was, not the recording's id nor that audio is there to play (the audio
route refuses them anyway, staff/recordings_pages.py).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from care.conversations import Conversation
from care.recordings import TurnRecording, of_turns
from staff.auth import Console

Shape = Callable[[TurnRecording], dict[str, Any]]


def mark_spoken(c: Console, found: Conversation, data: dict[str, Any], shape: Shape) -> None:
    """Set each shown turn's ``voice``: ``shape`` of its recording, or None when typed.
    ``data`` is staff.redact.conversation(found, …), which keeps the parsed turns' order."""
    keys = [(t.channel or "", t.message_id or "") for t in found.user_turns]
    recorded = of_turns(c.care.db, found.id, keys)
    for session, shown in zip(found.sessions, data["sessions"], strict=True):
        for turn, row in zip(session.turns, shown["turns"], strict=True):
            kept = recorded.get((turn.channel or "", turn.message_id or ""))
            row["voice"] = shape(kept) if kept is not None and turn.event_id is not None else None


def for_page(hears: bool) -> Shape:
    """The page's marks: a length to read, and a player when this role may listen."""

    def shape(kept: TurnRecording) -> dict[str, Any]:
        return {
            "id": kept.id if hears else None,
            "seconds": max(1, round(kept.duration_s)),  # "0 s" reads as nothing heard
            "audio": kept.has_audio,
            "play": kept.has_audio and hears,
        }

    return shape


def for_api(hears: bool) -> Shape:
    """The API's ``voice``: ``recording_id`` (GET /recordings/{id}/audio) and
    ``has_audio`` only for those who may listen; ``seconds`` for everyone."""

    def shape(kept: TurnRecording) -> dict[str, Any]:
        recording_id: Optional[int] = kept.id if hears else None
        return {
            "recording_id": recording_id,
            "seconds": round(kept.duration_s, 1),
            "has_audio": kept.has_audio and hears,
        }

    return shape
