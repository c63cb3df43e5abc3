"""Every booking starts clean: only what this message said is kept.

Form slots are filled from entities in any message ("取消明天的午饭" sets a
date and a meal), so without this a later "订个饭" would skip questions using
answers the person never gave for it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

BOOKING_SLOTS = (
    "meal_date",
    "meal",
    "dining",
    "meal_quantity",
    "meal_confirmed",
    "visit_date",
    "visit_department",
    "visit_slot",
    "visit_pickup",
    "visit_options",
    "visit_waitlist",
    "visit_confirmed",
    "elder_name",
    "booking_for",
    "invite_code",
    "family_name",
    "family_relation",
    "link_options",
)


def said_now(events: list[dict[str, Any]]) -> set[str]:
    """Slots set since the person's latest message (by its own entities and intent)."""
    names: set[str] = set()
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot" and event.get("value") is not None:
            names.add(str(event.get("name")))
    return names


class ActionStartBooking(Action):
    def name(self) -> str:
        return "action_start_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        keep = said_now(tracker.events)
        return [
            SlotSet(slot, None)
            for slot in BOOKING_SLOTS
            if slot not in keep and tracker.get_slot(slot) is not None
        ]
