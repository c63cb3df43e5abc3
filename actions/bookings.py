"""``list_bookings`` and ``cancel_booking``: what is coming up, and cancelling it by name."""

from __future__ import annotations

from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.parsed import entity
from actions.runtime import CareMixin
from actions.say import YES_NO, describe_booking, numbered
from care.audit import Actor
from care.choices import ordinal
from care.errors import BookingClosed, CareError, NotPermitted
from care.records import BookingRecord


class ActionListBookings(CareMixin, Action):
    def name(self) -> str:
        return "action_list_bookings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        bookings = self.upcoming(tracker)
        if not bookings:
            dispatcher.utter_message(response="utter_no_bookings")
            return []
        language = tracker.get_slot("language") or "zh"
        lines = numbered(bookings, language, self.today(), self.care.tz)
        dispatcher.utter_message(response="utter_your_bookings", count=len(bookings), lines=lines)
        return []


SERVICE_WORDS = {
    "day_care": ("日托", "托老", "day care", "daycare"),
    "clinic": ("看病", "门诊", "医生", "大夫", "挂号", "看牙", "clinic", "doctor", "appointment"),
    "companion_call": ("陪聊", "电话", "唠嗑", "call"),
    "meal": ("饭", "餐", "meal", "lunch", "dinner"),
}


def _wanted_service(text: str) -> Optional[str]:
    lowered = text.lower()
    for service, words in SERVICE_WORDS.items():
        if any(w in lowered for w in words):
            return service
    return None


def meant(
    bookings: list[BookingRecord],
    text: str,
    day: Optional[str],
    meal: Optional[str],
    offered: Optional[list[str]] = None,
) -> list[BookingRecord]:
    """The bookings a person means: "2" from a list just read out, else day/meal/service."""
    if offered:
        n = ordinal(text, len(offered))
        if n is not None:
            return [b for b in bookings if str(b.id) == offered[n - 1]]
    service = "meal" if meal else _wanted_service(text)
    return [
        b
        for b in bookings
        if (day is None or b.slot.date.isoformat() == day)
        and (service is None or b.service == service)
        and (meal is None or b.slot.details.get("meal") == meal)
    ]


def booking_buttons(bookings: list[BookingRecord]) -> list[dict[str, str]]:
    # Taps send the number, so they work like a spoken "2".
    return [{"title": str(i), "payload": str(i)} for i in range(1, len(bookings) + 1)]


class ActionFindCancel(CareMixin, Action):
    """ "取消明天的午饭": find the one booking meant, read it back, and wait for a yes."""

    def name(self) -> str:
        return "action_find_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        offered = tracker.get_slot("booking_choices")
        matches = meant(
            self.upcoming(tracker), text, entity(tracker, "date"), entity(tracker, "meal"), offered
        )
        language = tracker.get_slot("language") or "zh"
        today, tz = self.today(), self.care.tz
        if len(matches) == 1:
            dispatcher.utter_message(
                response="utter_ask_cancel_confirm",
                line=describe_booking(matches[0], language, today, tz),
                buttons=YES_NO,
            )
            return [SlotSet("pending_cancel", str(matches[0].id)), SlotSet("booking_choices", None)]
        if not matches:
            dispatcher.utter_message(response="utter_cancel_nothing_found")
            return [SlotSet("pending_cancel", None), SlotSet("booking_choices", None)]
        dispatcher.utter_message(
            response="utter_cancel_which",
            lines=numbered(matches, language, today, tz),
            buttons=booking_buttons(matches),
        )
        return [
            SlotSet("pending_cancel", None),
            SlotSet("booking_choices", [str(b.id) for b in matches]),
        ]


class ActionCancelConfirmed(CareMixin, Action):
    def name(self) -> str:
        return "action_cancel_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        care = self.care
        pending = tracker.get_slot("pending_cancel")
        if not pending:
            dispatcher.utter_message(response="utter_ok")
            return []
        channel, person = self.channel(tracker), self.person(tracker)
        try:
            if person is None:
                raise NotPermitted("unknown person")
            care.bookings.cancel(
                int(pending), Actor.person(person.id), channel, reason="asked in chat"
            )
        except BookingClosed:
            dispatcher.utter_message(response="utter_cancel_too_late")
        except CareError:
            dispatcher.utter_message(
                response="utter_not_yet", centre_hotline=care.settings.centre_hotline
            )
        else:
            dispatcher.utter_message(response="utter_cancelled")
        return [SlotSet("pending_cancel", None)]


class ActionCancelKept(Action):
    def name(self) -> str:
        return "action_cancel_kept"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_cancel_kept")
        return [SlotSet("pending_cancel", None)]
