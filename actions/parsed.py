"""What the NLU found in the latest message."""

from __future__ import annotations

from typing import Optional

from rasa_sdk import Tracker


def entity(tracker: Tracker, name: str) -> Optional[str]:
    """The last value of entity ``name`` (extractors may report one entity twice)."""
    found = tracker.latest_message.get("entities", [])
    values = [e.get("value") for e in found if e.get("entity") == name]
    return str(values[-1]) if values else None
