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
from care.errors import BookingClosed, CareError, NotPermitted


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
    "clinic": ("看病", "门诊", "医生", "大夫", "挂号", "clinic", "doctor", "appointment"),
    "companion_call": ("陪聊", "电话", "唠嗑", "call"),
    "meal": ("饭", "餐", "meal", "lunch", "dinner"),
}


def _wanted_service(text: str) -> Optional[str]:
    lowered = text.lower()
    for service, words in SERVICE_WORDS.items():
        if any(w in lowered for w in words):
            return service
    return None


class ActionFindCancel(CareMixin, Action):
    """ "取消明天的午饭": find the one booking meant, read it back, and wait for a yes."""

    def name(self) -> str:
        return "action_find_cancel"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        bookings = self.upcoming(tracker)
        day, meal = entity(tracker, "date"), entity(tracker, "meal")
        service = "meal" if meal else _wanted_service(str(tracker.latest_message.get("text") or ""))
        matches = [
            b
            for b in bookings
            if (day is None or b.slot.date.isoformat() == day)
            and (service is None or b.service == service)
            and (meal is None or b.slot.details.get("meal") == meal)
        ]
        language = tracker.get_slot("language") or "zh"
        today, tz = self.today(), self.care.tz
        if len(matches) == 1:
            dispatcher.utter_message(
                response="utter_ask_cancel_confirm",
                line=describe_booking(matches[0], language, today, tz),
                buttons=YES_NO,
            )
            return [SlotSet("pending_cancel", str(matches[0].id))]
        if not matches:
            dispatcher.utter_message(response="utter_cancel_nothing_found")
        else:
            lines = numbered(matches, language, today, tz)
            dispatcher.utter_message(response="utter_cancel_which", lines=lines)
        return [SlotSet("pending_cancel", None)]


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
