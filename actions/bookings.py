"""``list_bookings``: what the person has coming up, each with date, weekday and time."""

from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.say import describe_booking
from care.services import CareServices


class ActionListBookings(Action):
    def __init__(self, care: Optional[CareServices] = None) -> None:
        self._care = care

    def name(self) -> str:
        return "action_list_bookings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        care = self._care or runtime.services()
        channel = tracker.get_latest_input_channel() or "unknown"
        person = care.people.find_by_identity(channel, tracker.sender_id)
        bookings = care.bookings.upcoming(person.id) if person and person.kind == "elder" else []
        if not bookings:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        language = tracker.get_slot("language") or "zh"
        today = care.clock().astimezone(care.tz).date()
        lines = "\n".join(
            f"{i}. {describe_booking(b, language, today, care.tz)}"
            for i, b in enumerate(bookings, 1)
        )
        dispatcher.utter_message(response="utter_your_bookings", count=len(bookings), lines=lines)
        return []
