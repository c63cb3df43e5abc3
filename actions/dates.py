"""The day a form asks for: said clearly, not past, and a day the service runs."""

from __future__ import annotations

from datetime import date
from typing import Any, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.parsed import entity
from actions.say import day_en, day_zh
from care.services import CareServices

# Reasons care/when.py gives that still carry a usable date (it is only in the past).
KEEPS_DATE = ("past_date",)


def checked_day(
    care: CareServices,
    today: date,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    value: Any,
    service: str,
    closed_response: str,
) -> Optional[date]:
    """The date to book, or None after telling the person why it cannot be that day."""
    reason = entity(tracker, "when_ambiguous")
    if reason:
        dispatcher.utter_message(response=f"utter_date_{reason}")
        if reason not in KEEPS_DATE:
            return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return None
    if day < today:
        if not reason:
            dispatcher.utter_message(response="utter_date_past_date")
        return None
    if not care.bookings.availability(service, day, day, include_full=True):
        late = care.bookings.availability(service, day, day, include_full=True, include_closed=True)
        dispatcher.utter_message(
            response="utter_booking_closed_that_day" if late else closed_response,
            day=day_zh(day, today),
            day_en=day_en(day, today),
        )
        return None
    return day
