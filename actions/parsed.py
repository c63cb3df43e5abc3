"""What the NLU found in the latest message."""

from __future__ import annotations

from typing import Optional

from rasa_sdk import Tracker


def entity(tracker: Tracker, name: str) -> Optional[str]:
    """The last value of entity ``name`` (extractors may report one entity twice)."""
    found = tracker.latest_message.get("entities", [])
    values = [e.get("value") for e in found if e.get("entity") == name]
    return str(values[-1]) if values else None


# Intents that can answer a form's question; anything else (the menu, "what have I
# booked", an emergency ...) goes to its own rule and the form asks again after.
ANSWERS = (
    "inform",
    "affirm",
    "deny",
    "greet",
    "thank",
    "nlu_fallback",
    "book_meal",
    "book_day_care",
    "book_clinic",
    "book_companion_call",
)


def intent_of(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def answers_question(tracker: Tracker) -> bool:
    intent = intent_of(tracker)
    return intent in ANSWERS or intent is None
